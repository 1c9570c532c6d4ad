package mesostest

import (
	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// CommandTask builds a command task of cpus and mem on an offer's agent.
func CommandTask(id string, o mesos.Offer, cpus, mem float64, shell string) mesos.TaskInfo {
	return mesos.TaskInfo{
		Name: id, TaskID: mesos.TaskID{Value: id}, AgentID: o.AgentID,
		Resources: Resources(cpus, mem),
		Command:   &mesos.CommandInfo{Value: &shell},
	}
}

// Resources builds unreserved cpus and mem resources.
func Resources(cpus, mem float64) []mesos.Resource {
	r := newResources()
	if cpus > 0 {
		r.scalars["cpus"] = cpus
	}
	if mem > 0 {
		r.scalars["mem"] = mem
	}
	return r.toProto("")
}

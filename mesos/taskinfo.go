package mesos

import (
	"path"
	"strconv"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/stoke-run/stoke/executor"
	"github.com/stoke-run/stoke/mesos/offers"
)

// taskInfo builds the command task of one coarse-grained executor: the
// agent fetches the application binary into the sandbox and runs it with
// the executor environment.
func (b *Backend) taskInfo(id string, o *mesos.Offer, l offers.Launch) mesos.TaskInfo {
	return mesos.TaskInfo{
		Name:      "stoke executor " + id,
		TaskID:    mesos.TaskID{Value: id},
		AgentID:   o.AgentID,
		Resources: offerResources(o, l.Uses),
		Command:   b.command(id, o, int(l.CPUs)),
	}
}

// offerResources are the offer's own resources (roles, reservations and
// allocation info echoed) cut to the amounts used.
func offerResources(o *mesos.Offer, uses []offers.Use) []mesos.Resource {
	var res []mesos.Resource
	for _, u := range uses {
		r := o.Resources[u.Index]
		r.Scalar = &mesos.Value_Scalar{Value: u.Amount}
		res = append(res, r)
	}
	return res
}

// command fetches the application binary into the sandbox and runs it with
// the environment of executor id announcing cores task slots.
func (b *Backend) command(id string, o *mesos.Offer, cores int) *mesos.CommandInfo {
	uri, name := b.set.executorURI, executorBinaryName(b.set.executorURI)
	if uri == "" {
		uri = b.files.binaryURL(id)
	}
	yes, no := true, false
	shell := true
	value := "exec ./" + name
	env := []mesos.Environment_Variable{
		envVar(executor.EnvDriver, b.srv.Address()),
		envVar(executor.EnvExecutorID, id),
		envVar(executor.EnvCores, strconv.Itoa(cores)),
		// The secret itself is behind a one-time grant (grant.go): Mesos
		// shows every environment variable on its state endpoints.
		envVar(EnvGrant, b.files.envURL(id, map[string]string{executor.EnvSecret: b.secret})),
		envVar(executor.EnvHost, o.Hostname),
		envVar(executor.EnvLogLevel, b.set.logLevel),
	}
	for _, kv := range b.tls.Env() {
		for i := 0; i < len(kv); i++ {
			if kv[i] == '=' {
				env = append(env, envVar(kv[:i], kv[i+1:]))
				break
			}
		}
	}
	// stoke.files and stoke.archives (distfiles.go).
	dist, archives := distURIs(b.set.dist, id, b.files)
	if archives != "" {
		env = append(env, envVar(EnvArchives, archives))
	}
	out := name
	return &mesos.CommandInfo{
		URIs:        append([]mesos.CommandInfo_URI{{Value: uri, Executable: &yes, Extract: &no, OutputFile: &out}}, dist...),
		Shell:       &shell,
		Value:       &value,
		Environment: &mesos.Environment{Variables: env},
	}
}

// executorBinaryName is the name the executor's binary takes in the
// sandbox: stoke.executor.uri's base name, else stoke-executor.
func executorBinaryName(uri string) string {
	if uri != "" {
		if base := path.Base(uri); base != "" && base != "/" && base != "." {
			return base
		}
	}
	return "stoke-executor"
}

func envVar(k, v string) mesos.Environment_Variable {
	return mesos.Environment_Variable{Name: k, Value: &v}
}

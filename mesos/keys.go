package mesos

import "github.com/stoke-run/stoke/internal/conf"

func init() {
	for _, k := range []conf.Key{
		{Name: "stoke.mesos.role", Default: "*", Type: conf.TypeString, Doc: "Mesos role of the framework; offers of this role and of * are used."},
		{Name: "stoke.mesos.user", Type: conf.TypeString, Doc: "User the framework's tasks run as (default: the driver's user)."},
		{Name: "stoke.mesos.principal", Type: conf.TypeString, Doc: "Mesos framework principal (HTTP basic authentication)."},
		{Name: "stoke.mesos.secret", Type: conf.TypeString, Doc: "Secret of stoke.mesos.principal."},
		{Name: "stoke.mesos.secret.file", Type: conf.TypeString, Doc: "File holding the secret of stoke.mesos.principal."},
		{Name: "stoke.mesos.checkpoint", Default: "false", Type: conf.TypeBool, Doc: "Ask agents to checkpoint the framework's executors."},
		{Name: "stoke.mesos.failoverTimeout", Default: "0s", Type: conf.TypeDuration, Unit: "s", Check: conf.AtLeast(0), Doc: "How long Mesos keeps the framework's tasks after the driver disconnects; a driver restarted within it re-subscribes with stoke.mesos.driver.frameworkId."},
		{Name: "stoke.mesos.driver.frameworkId", Type: conf.TypeString, Doc: "Framework id to re-subscribe with (a driver restarted within its failover timeout)."},
		{Name: "stoke.mesos.constraints", Type: conf.TypeString, Check: constraintsCheck, Doc: "Agent attribute constraints for executors, e.g. os:centos7;zone:us-east-1a,us-east-1b;gpu."},
		{Name: "stoke.mesos.rejectOfferDuration", Default: "120s", Type: conf.TypeDuration, Unit: "s", Check: conf.AtLeast(0), Doc: "Refuse filter for offers Stoke can never use (constraints, excluded agents, stoke.cores.max reached)."},
		{Name: "stoke.mesos.declineOfferDuration", Default: "5s", Type: conf.TypeDuration, Unit: "s", Check: conf.AtLeast(0), Doc: "Refuse filter for offers not needed now."},
		{Name: "stoke.mesos.maxAgentFailures", Default: "2", Type: conf.TypeInt, Check: conf.AtLeast(1), Doc: "Failed executors on one agent before Stoke stops using it."},
		{Name: "stoke.mesos.executor.memoryOverhead", Type: conf.TypeBytes, Unit: "m", Check: conf.AtLeast(0), Doc: "Memory added to stoke.executor.memory in an executor's Mesos resources (default max(384 MiB, 10%))."},
		{Name: "stoke.mesos.mesosExecutor.cores", Default: "1", Type: conf.TypeFloat, Check: conf.AtLeast(0), Doc: "Fine-grained mode: CPUs the per-agent executor holds besides its tasks."},
		{Name: "stoke.mesos.registrationTimeout", Default: "60s", Type: conf.TypeDuration, Unit: "s", Check: conf.AtLeast(int64(1e6)), Doc: "How long the driver tries to subscribe its framework to a Mesos master before it fails (a master that is down, unreachable or refuses the framework)."},
		{Name: "stoke.mesos.heartbeatMisses", Default: "5", Type: conf.TypeInt, Check: conf.AtLeast(1), Doc: "Missed master heartbeats after which the framework re-subscribes."},
		{Name: "stoke.executor.uri", Type: conf.TypeString, Doc: "URI agents fetch the application binary from (default: served by the driver over HTTP)."},
	} {
		conf.Register(k)
	}
}

func constraintsCheck(v any) error {
	s, _ := v.(string)
	_, err := parseConstraints(s)
	return err
}

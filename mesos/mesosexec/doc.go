// Package mesosexec is the Mesos side of Stoke's fine-grained executor: a
// client of the agent's v1 executor HTTP API (SUBSCRIBE, LAUNCH, KILL,
// ACKNOWLEDGED, SHUTDOWN) that hands launched tasks to a Runner and sends
// their status updates, keeping each until the agent acknowledges it and
// sending it again meanwhile.
package mesosexec

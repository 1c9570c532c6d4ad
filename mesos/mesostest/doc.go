// Package mesostest is a Mesos test cluster for Stoke's Mesos backend: masters
// (one leading, the others answering 307) and agents that speak the real v1
// scheduler and executor HTTP APIs (protobuf and JSON, RecordIO streams,
// Mesos-Stream-Id), offer their resources, fetch URIs into sandboxes and run
// real processes. Tests start it in-process with Start and inject failures
// through Cluster methods.
//
//	c := mesostest.Start(t, mesostest.Options{Masters: 2})
//	// point the framework at c.Standby().SchedulerURL() or c.SchedulerURL()
//	c.FailoverMaster()     // or KillExecutor, RemoveAgent, DropStream, ...
//	c.Used(frameworkID, "") // what the framework holds now; UsageHistory for the past
package mesostest

package hconf

// Defaults are the values of core-default.xml, hdfs-default.xml and yarn-default.xml that a
// Stoke client reads, used when no site file sets the key. Values may reference other keys.
var Defaults = map[string]string{
	"fs.defaultFS":                      "file:///",
	"hadoop.tmp.dir":                    "/tmp/hadoop-${user.name}",
	"hadoop.security.authentication":    "simple",
	"hadoop.security.authorization":     "false",
	"hadoop.rpc.protection":             "authentication",
	"ipc.client.connect.timeout":        "20000",
	"ipc.client.connect.max.retries":    "10",
	"ipc.client.connect.retry.interval": "1000",
	"ipc.client.connection.maxidletime": "10000",
	"ipc.client.ping":                   "true",
	"ipc.ping.interval":                 "60000",
	"ipc.client.rpc-timeout.ms":         "120000",
	"ipc.maximum.response.length":       "134217728",

	"dfs.replication": "3",

	"yarn.resourcemanager.hostname":                  "0.0.0.0",
	"yarn.resourcemanager.address":                   "${yarn.resourcemanager.hostname}:8032",
	"yarn.resourcemanager.scheduler.address":         "${yarn.resourcemanager.hostname}:8030",
	"yarn.resourcemanager.resource-tracker.address":  "${yarn.resourcemanager.hostname}:8031",
	"yarn.resourcemanager.admin.address":             "${yarn.resourcemanager.hostname}:8033",
	"yarn.resourcemanager.webapp.address":            "${yarn.resourcemanager.hostname}:8088",
	"yarn.resourcemanager.webapp.https.address":      "${yarn.resourcemanager.hostname}:8090",
	"yarn.resourcemanager.ha.enabled":                "false",
	"yarn.resourcemanager.connect.max-wait.ms":       "900000",
	"yarn.resourcemanager.connect.retry-interval.ms": "30000",
	"yarn.nodemanager.hostname":                      "0.0.0.0",
	"yarn.nodemanager.address":                       "${yarn.nodemanager.hostname}:0",
	"yarn.scheduler.minimum-allocation-mb":           "1024",
	"yarn.scheduler.maximum-allocation-mb":           "8192",
	"yarn.scheduler.minimum-allocation-vcores":       "1",
	"yarn.scheduler.maximum-allocation-vcores":       "4",
	"yarn.am.liveness-monitor.expiry-interval-ms":    "600000",
	"yarn.app.mapreduce.am.staging-dir":              "/tmp/hadoop-yarn/staging",
	"yarn.resourcemanager.am.max-attempts":           "2",
}

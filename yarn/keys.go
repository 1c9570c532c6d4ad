package yarn

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"regexp/syntax"

	"github.com/stoke-run/stoke/internal/conf"
)

func init() {
	for _, k := range []conf.Key{
		{Name: "stoke.yarn.tags", Type: conf.TypeString, Doc: "Comma-separated YARN application tags."},
		{Name: "stoke.yarn.priority", Default: "0", Type: conf.TypeInt, Check: conf.AtLeast(0), Doc: "YARN application priority."},
		{Name: "stoke.yarn.maxAppAttempts", Default: "2", Type: conf.TypeInt, Check: conf.AtLeast(1), Doc: "Application master attempts (capped by the RM's yarn.resourcemanager.am.max-attempts)."},
		{Name: "stoke.yarn.am.memory", Default: "512m", Type: conf.TypeBytes, Unit: "m", Check: conf.AtLeast(1 << 20), Doc: "Memory of the application master in client deploy mode (cluster mode uses stoke.driver.memory)."},
		{Name: "stoke.yarn.am.cores", Default: "1", Type: conf.TypeInt, Check: conf.AtLeast(1), Doc: "Cores of the application master in client deploy mode (cluster mode uses stoke.driver.cores)."},
		{Name: "stoke.yarn.executor.memoryOverhead", Type: conf.TypeBytes, Unit: "m", Check: conf.AtLeast(0), Doc: "Memory added to stoke.executor.memory (and the driver's in cluster mode) in container requests (default max(384 MiB, 10%))."},
		{Name: "stoke.yarn.max.executor.failures", Type: conf.TypeInt, Check: conf.AtLeast(0), Doc: "Executor failures after which the application fails (default max(2 × executors, 3))."},
		{Name: "stoke.yarn.maxNodeFailures", Default: "2", Type: conf.TypeInt, Check: conf.AtLeast(1), Doc: "Failed executors on one node before the AM blacklists it."},
		{Name: "stoke.yarn.stagingDir", Type: conf.TypeString, Doc: "HDFS directory under which .stokeStaging/<appId> is made (default: /user/<user>)."},
		{Name: "stoke.yarn.preserveStagingFiles", Default: "false", Type: conf.TypeBool, Doc: "Keep the staging directory when the application ends."},
		{Name: "stoke.yarn.submit.waitAppCompletion", Default: "true", Type: conf.TypeBool, Doc: "Cluster deploy mode: stoke submit waits for the application to end and exits with its outcome."},
		{Name: "stoke.yarn.report.interval", Default: "1s", Type: conf.TypeDuration, Unit: "ms", Check: conf.AtLeast(int64(1e6)), Doc: "Interval between application report polls."},
		{Name: "stoke.yarn.scheduler.heartbeat.interval", Default: "3s", Type: conf.TypeDuration, Unit: "ms", Check: conf.AtLeast(int64(1e6)), Doc: "AM heartbeat to the RM when no container is pending."},
		{Name: "stoke.yarn.scheduler.initialAllocationInterval", Default: "200ms", Type: conf.TypeDuration, Unit: "ms", Check: conf.AtLeast(int64(1e6)), Doc: "AM heartbeat to the RM while containers are pending."},
		{Name: "stoke.yarn.am.attemptFailuresValidityInterval", Type: conf.TypeDuration, Unit: "ms", Check: conf.AtLeast(int64(1e6)), Doc: "AM failures older than this do not count towards stoke.yarn.maxAppAttempts, so a long-running application is not ended by failures spread over weeks (default: all count)."},
		{Name: "stoke.yarn.historyServer.address", Type: conf.TypeString, Check: conf.HistoryServerAddress, Doc: "host:port (or http(s)://host:port) of the Stoke history server: when the application ends, the ResourceManager links to its page there (/history/<application>/)."},
		{Name: "stoke.yarn.rolledLog.includePattern", Type: conf.TypeString, Check: javaRegexp, Doc: "Java regular expression of the log files the NodeManagers upload while the application runs (rolling log aggregation, yarn.nodemanager.log-aggregation.roll-monitoring-interval-seconds); sent in the submission's LogAggregationContext."},
		{Name: "stoke.yarn.rolledLog.excludePattern", Type: conf.TypeString, Check: javaRegexp, Doc: "Java regular expression of the log files rolling log aggregation does not upload while the application runs (with no include pattern, every other file is)."},
		{Name: "stoke.yarn.am.waitTime", Default: "100s", Type: conf.TypeDuration, Unit: "s", Check: conf.AtLeast(int64(1e9)), Doc: "Client deploy mode: how long the driver waits for the AM to register."},
	} {
		conf.Register(k)
	}
	conf.RegisterPrefix(conf.Key{Name: "stoke.yarn.appMasterEnv.", Doc: "stoke.yarn.appMasterEnv.NAME=value: an environment variable of the YARN application master (and of the driver in cluster mode)."})
}

// finalTrackingURL is the history server's page of the application, or ""
// when no history server is configured.
func finalTrackingURL(addr, appID string) string {
	if addr == "" {
		return ""
	}
	base, err := conf.HistoryServerBase(addr)
	if err != nil {
		return ""
	}
	return base + "/history/" + url.PathEscape(appID) + "/"
}

// javaRegexp checks a pattern the NodeManager compiles with java.util.regex:
// what RE2 refuses for its syntax (unbalanced parentheses, a repetition of
// nothing) is refused here; lookarounds and back references, which only Java
// has, pass.
func javaRegexp(v any) error {
	s, _ := v.(string)
	_, err := regexp.Compile(s)
	var se *syntax.Error
	if err == nil || (errors.As(err, &se) && (se.Code == syntax.ErrInvalidPerlOp || se.Code == syntax.ErrInvalidEscape)) {
		return nil
	}
	return fmt.Errorf("%q is not a regular expression: %v", s, err)
}

package yarn

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"unicode"

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
		{Name: "stoke.yarn.am.nodeLabelExpression", Type: conf.TypeString, Check: nodeLabel, Doc: "YARN node label of the node the application master runs on (Spark: spark.yarn.am.nodeLabelExpression)."},
		{Name: "stoke.yarn.executor.nodeLabelExpression", Type: conf.TypeString, Check: nodeLabel, Doc: "YARN node label of the nodes executors run on (Spark: spark.yarn.executor.nodeLabelExpression)."},
		{Name: "stoke.yarn.executor.localityHints", Default: "true", Type: conf.TypeBool, Doc: "With dynamic allocation, container requests name the hosts of the pending tasks' data (Spark's locality-preferred placement)."},
		{Name: "stoke.yarn.proxyUser", Type: conf.TypeString, Check: checkProxyUser, Doc: "User to submit the application for (stoke submit --proxy-user): the Kerberos login acts as a Hadoop proxy user, allowed by the cluster's hadoop.proxyuser.<login>.* rules; not with stoke.kerberos.principal/keytab."},
		{Name: "stoke.kerberos.access.hadoopFileSystems", Type: conf.TypeString, Check: func(v any) error { _, err := parseHadoopFileSystems(v.(string)); return err },
			Doc: "Comma-separated hdfs://host:port URIs of file systems besides fs.defaultFS that the application reads or writes: on a Kerberos cluster the YARN client gets a delegation token of each (renewed by the ResourceManager) for the containers."},
		{Name: "stoke.yarn.rolledLog.includePattern", Type: conf.TypeString, Check: javaRegexp, Doc: "Java regular expression of the log files the NodeManagers upload while the application runs (rolling log aggregation, yarn.nodemanager.log-aggregation.roll-monitoring-interval-seconds); sent in the submission's LogAggregationContext."},
		{Name: "stoke.yarn.rolledLog.excludePattern", Type: conf.TypeString, Check: javaRegexp, Doc: "Java regular expression of the log files rolling log aggregation does not upload while the application runs (with no include pattern, every other file is)."},
		{Name: "stoke.yarn.am.waitTime", Default: "100s", Type: conf.TypeDuration, Unit: "s", Check: conf.AtLeast(int64(1e9)), Doc: "Client deploy mode: how long the driver waits for the AM to register."},
	} {
		conf.Register(k)
	}
	conf.RegisterPrefix(conf.Key{Name: "stoke.yarn.appMasterEnv.", Doc: "stoke.yarn.appMasterEnv.NAME=value: an environment variable of the YARN application master (and of the driver in cluster mode)."})
}

// nodeLabel checks a YARN node label: YARN takes one label (no
// expressions of several), of letters, digits, '-' and '_', starting with
// a letter or digit, at most 255 characters.
func nodeLabel(v any) error {
	s, _ := v.(string)
	if s == "" {
		return nil
	}
	if len(s) > 255 {
		return fmt.Errorf("a YARN node label is at most 255 characters, got %d", len(s))
	}
	for i, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || i > 0 && (r == '-' || r == '_')
		if !ok {
			return fmt.Errorf("%q is not a YARN node label: one label of letters, digits, '-' and '_', starting with a letter or digit (YARN takes no expressions of several labels)", s)
		}
	}
	return nil
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

// checkProxyUser refuses a proxy user name that is empty or could not be a
// Hadoop user (it names /user/<name> too).
func checkProxyUser(v any) error {
	s, _ := v.(string)
	switch {
	case s == "":
		return errors.New("empty: name the user to submit for")
	case s == "." || s == "..":
		return fmt.Errorf("%q is not a user name", s)
	case strings.ContainsAny(s, "/@"):
		return fmt.Errorf("%q is not a short user name (no / or @): Hadoop impersonates users by their short names", s)
	case strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		return fmt.Errorf("%q holds white space or a control character", s)
	}
	return nil
}

// clientSettings checks, before any connection, the settings of a submission that decide
// how the client connects, and returns the proxy user ("" for none).
func clientSettings(c *conf.Conf) (string, error) {
	if _, err := parseHadoopFileSystems(c.String("stoke.kerberos.access.hadoopFileSystems")); err != nil {
		return "", fmt.Errorf("stoke.kerberos.access.hadoopFileSystems: %w", err)
	}
	return proxyUserOf(c)
}

// RequestProxyUser is the user a --status or --kill request acts for
// (stoke.yarn.proxyUser, checked), "" for none. Unlike a submission, such a
// request ships nothing, so a principal and keytab may be set too.
func RequestProxyUser(c *conf.Conf) (string, error) {
	v, set := c.Get("stoke.yarn.proxyUser")
	if !set {
		return "", nil
	}
	v = strings.TrimSpace(v)
	if err := checkProxyUser(v); err != nil {
		return "", fmt.Errorf("stoke.yarn.proxyUser (--proxy-user): %w", err)
	}
	return v, nil
}

// proxyUserOf is the user a submission acts for (stoke.yarn.proxyUser), "" for none. As
// in Spark, it excludes an application principal and keytab: those are shipped to the
// containers, which would then hold the gateway's identity rather than the user's.
func proxyUserOf(c *conf.Conf) (string, error) {
	v, err := RequestProxyUser(c)
	if err != nil || v == "" {
		return v, err
	}
	if c.String("stoke.kerberos.principal") != "" || c.String("stoke.kerberos.keytab") != "" {
		return "", errors.New("--proxy-user (stoke.yarn.proxyUser) and --principal/--keytab (stoke.kerberos.principal, stoke.kerberos.keytab) are mutually exclusive: " +
			"the application's keytab goes to its containers, which would then hold the submitter's identity; the submitter logs in from its ticket cache " +
			"(KRB5CCNAME) or from STOKE_KERBEROS_PRINCIPAL and STOKE_KERBEROS_KEYTAB, which are not shipped")
	}
	return v, nil
}

// parseHadoopFileSystems parses stoke.kerberos.access.hadoopFileSystems: comma-separated
// hdfs://host:port URIs (a path is allowed and ignored), each file system once.
func parseHadoopFileSystems(v string) ([]*url.URL, error) {
	var out []*url.URL
	seen := map[string]bool{}
	for _, raw := range strings.Split(v, ",") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		u, err := url.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("%q is not a URI: %v", raw, err)
		}
		switch {
		case u.Scheme != "hdfs":
			return nil, fmt.Errorf("%q: only hdfs:// file systems have delegation tokens here (scheme %q)", raw, u.Scheme)
		case u.Host == "":
			return nil, fmt.Errorf("%q names no NameNode: write hdfs://host:port", raw)
		case u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "":
			return nil, fmt.Errorf("%q: a file system URI is hdfs://host:port, without user, query or fragment", raw)
		}
		host, port, err := net.SplitHostPort(u.Host)
		if err != nil || host == "" {
			return nil, fmt.Errorf("%q: give the NameNode's RPC port, hdfs://host:port (HA nameservices are not supported here)", raw)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("%q: port %q is not a port number", raw, port)
		}
		fs := &url.URL{Scheme: "hdfs", Host: u.Host}
		if !seen[fs.Host] {
			seen[fs.Host] = true
			out = append(out, fs)
		}
	}
	return out, nil
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

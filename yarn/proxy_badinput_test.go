package yarn_test

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/yarn"
)

// Bad --proxy-user values and stoke.kerberos.access.hadoopFileSystems entries are refused
// before anything is contacted (the ResourceManager's port is closed: an attempt to reach it
// would give a different error), in client mode (stoke.New) and cluster mode (SubmitCluster).
func TestProxyUserAndFileSystemsBadInput(t *testing.T) {
	dir := t.TempDir()
	writeSite(t, dir, "core-site.xml", map[string]string{"fs.defaultFS": "hdfs://" + closedPort(t), "hadoop.security.authentication": "kerberos"})
	writeSite(t, dir, "yarn-site.xml", map[string]string{"yarn.resourcemanager.address": closedPort(t), "ipc.client.connect.timeout": "2000"})
	t.Setenv("HADOOP_CONF_DIR", dir)
	t.Setenv("YARN_CONF_DIR", "")
	check := func(t *testing.T, cfg stoke.Config, want ...string) {
		t.Helper()
		cfg["stoke.master"], cfg["stoke.ui.enabled"] = "yarn", "false"
		_, err := stoke.New(cfg)
		c := conf.New()
		for k, v := range cfg {
			c.Set(k, v, conf.SourceCode)
		}
		_, cerr := yarn.SubmitCluster(context.Background(), &yarn.ClusterSubmission{Conf: c, Binary: "/bin/true", Out: io.Discard})
		for _, e := range []error{err, cerr} {
			if e == nil {
				t.Fatalf("%v: accepted", cfg)
			}
			for _, w := range want {
				if !strings.Contains(e.Error(), w) {
					t.Fatalf("%v: %v; want it to say %q", cfg, e, w)
				}
			}
			t.Log(e)
			if strings.Contains(e.Error(), "new application") {
				t.Fatalf("%v: contacted the ResourceManager before refusing: %v", cfg, e)
			}
		}
	}
	for _, u := range []string{"", "  ", "a/b", "../alice", "alice@STOKE.TEST", ".", "..", "al ice", "bob\x01"} {
		t.Run("ProxyUser"+u, func(t *testing.T) {
			check(t, stoke.Config{"stoke.yarn.proxyUser": u}, "stoke.yarn.proxyUser")
		})
	}
	t.Run("ProxyUserWithPrincipal", func(t *testing.T) {
		check(t, stoke.Config{"stoke.yarn.proxyUser": "alice", "stoke.kerberos.principal": "gw@STOKE.TEST", "stoke.kerberos.keytab": "/nonexistent/gw.keytab"}, "mutually exclusive")
	})
	for _, fs := range []string{"file:///tmp", "s3a://bucket", "hdfs:///data", "hdfs://nn", "hdfs://nn:0", "hdfs://nn:99999", "hdfs://nn:x",
		"hdfs://alice@nn:8020", "hdfs://nn:8020/?x=1", "hdfs://nn:8020#f", "hdfs://nn:8020,%zz", "hdfs:nn:8020"} {
		t.Run("FileSystems"+fs, func(t *testing.T) {
			check(t, stoke.Config{"stoke.kerberos.access.hadoopFileSystems": fs}, "stoke.kerberos.access.hadoopFileSystems")
		})
	}
}

// Without Kerberos a proxy user is refused before anything is contacted: such a cluster
// takes whatever user a client names (HADOOP_USER_NAME), so impersonation would prove nothing.
func TestProxyUserNeedsKerberos(t *testing.T) {
	dir := t.TempDir()
	writeSite(t, dir, "core-site.xml", map[string]string{"fs.defaultFS": "hdfs://" + closedPort(t)})
	writeSite(t, dir, "yarn-site.xml", map[string]string{"yarn.resourcemanager.address": closedPort(t)})
	t.Setenv("HADOOP_CONF_DIR", dir)
	t.Setenv("YARN_CONF_DIR", "")
	_, err := stoke.New(stoke.Config{"stoke.master": "yarn", "stoke.ui.enabled": "false", "stoke.yarn.proxyUser": "alice"})
	if err == nil || !strings.Contains(err.Error(), "needs a Kerberos cluster") || !strings.Contains(err.Error(), "HADOOP_USER_NAME=alice") {
		t.Fatalf("proxy user on a cluster without Kerberos: %v", err)
	}
	// Without a proxy user the same configuration gets as far as the ResourceManager.
	_, err = stoke.New(stoke.Config{"stoke.master": "yarn", "stoke.ui.enabled": "false", "ipc.client.connect.timeout": "2000"})
	if err == nil || !strings.Contains(err.Error(), "new application") {
		t.Fatalf("control without a proxy user: %v", err)
	}
}

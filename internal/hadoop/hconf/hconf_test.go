package hconf

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func envMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func site(props ...string) string {
	var b strings.Builder
	b.WriteString("<?xml version=\"1.0\"?>\n<configuration>\n")
	for i := 0; i+1 < len(props); i += 2 {
		final := ""
		name := props[i]
		if n, ok := strings.CutSuffix(name, "!"); ok {
			name, final = n, "<final>true</final>"
		}
		b.WriteString("  <property><name>" + name + "</name><value>" + props[i+1] + "</value>" + final + "</property>\n")
	}
	b.WriteString("</configuration>\n")
	return b.String()
}

func writeDir(t *testing.T, files map[string]string) string {
	t.Helper()
	d := t.TempDir()
	for n, s := range files {
		if err := os.WriteFile(filepath.Join(d, n), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

func TestLoadOrderFinalAndExpansion(t *testing.T) {
	d := writeDir(t, map[string]string{
		"core-site.xml": site("fs.defaultFS", "hdfs://nn:9000", "locked!", "core", "base", "/data"),
		"hdfs-site.xml": site("locked", "hdfs", "dfs.dir", "${base}/dfs", "over", "hdfs"),
		"yarn-site.xml": site("over", "yarn", "yarn.resourcemanager.hostname", "rm.example",
			"home", "${env.STOKE_TEST_HOME}", "dflt", "${env.NOPE:-fallback-${base}}", "unknown", "x${no.such.key}y"),
	})
	c, err := Load(envMap(map[string]string{"HADOOP_CONF_DIR": d, "STOKE_TEST_HOME": "/home/s"}))
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"fs.defaultFS":                           "hdfs://nn:9000",
		"locked":                                 "core",
		"over":                                   "yarn",
		"dfs.dir":                                "/data/dfs",
		"home":                                   "/home/s",
		"dflt":                                   "fallback-/data",
		"unknown":                                "x${no.such.key}y",
		"yarn.resourcemanager.address":           "rm.example:8032",
		"yarn.resourcemanager.scheduler.address": "rm.example:8030",
	} {
		if got := c.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if ig := c.IgnoredOverrides(); len(ig) != 1 || !strings.Contains(ig[0], "locked") {
		t.Errorf("IgnoredOverrides = %q", ig)
	}
	if src := c.Source("over"); !strings.HasPrefix(src, filepath.Join(d, "yarn-site.xml")+":") {
		t.Errorf("Source(over) = %q", src)
	}
	rms, err := c.ResourceManagers(RMScheduler)
	if err != nil || len(rms) != 1 || rms[0].Addr != "rm.example:8030" {
		t.Fatalf("ResourceManagers = %v, %v", rms, err)
	}
}

func TestYarnConfDirFallback(t *testing.T) {
	h := writeDir(t, map[string]string{"core-site.xml": site("a", "hadoop")})
	y := writeDir(t, map[string]string{"core-site.xml": site("a", "yarn"), "yarn-site.xml": site("b", "yarn")})
	c, err := Load(envMap(map[string]string{"HADOOP_CONF_DIR": h, "YARN_CONF_DIR": y}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Get("a") != "hadoop" || c.Get("b") != "yarn" {
		t.Fatalf("a=%q b=%q", c.Get("a"), c.Get("b"))
	}
}

func TestNoConfDir(t *testing.T) {
	_, err := Load(envMap(nil))
	if !errors.Is(err, ErrNoConfDir) || !strings.Contains(err.Error(), "HADOOP_CONF_DIR") {
		t.Fatalf("err = %v", err)
	}
	_, err = Load(envMap(map[string]string{"HADOOP_CONF_DIR": "/nonexistent/conf"}))
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/conf") {
		t.Fatalf("err = %v", err)
	}
	_, err = Load(envMap(map[string]string{"HADOOP_CONF_DIR": t.TempDir()}))
	if err == nil || !strings.Contains(err.Error(), "no Hadoop site files") {
		t.Fatalf("err = %v", err)
	}
}

func TestMalformed(t *testing.T) {
	cases := []struct{ name, doc, want string }{
		{"unclosed", "<configuration>\n<property>\n<name>a</name>\n<value>b</value>\n</configuration>\n", "yarn-site.xml:5: malformed XML"},
		{"garbage", "not xml at all", "no <configuration>"},
		{"empty", "", "no <configuration>"},
		{"wrongroot", "<?xml version=\"1.0\"?>\n<props/>", "yarn-site.xml:2: root element is <props>"},
		{"noname", "<configuration>\n\n<property><value>b</value></property></configuration>", "yarn-site.xml:3: <property> without a <name>"},
		{"badfinal", "<configuration><property><name>a</name><value>b</value><final>yes</final></property></configuration>", "<final> must be true or false"},
		{"badentity", "<configuration>\n<property><name>a&bogus;</name></property></configuration>", "yarn-site.xml:2: malformed XML"},
		{"include", "<configuration xmlns:xi=\"http://www.w3.org/2001/XInclude\">\n<xi:include href=\"x.xml\"/></configuration>", "XInclude is not supported"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := writeDir(t, map[string]string{"yarn-site.xml": tc.doc})
			_, err := LoadDir(envMap(nil), d)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestExpansionLoops(t *testing.T) {
	c := New(envMap(nil))
	c.Set("a", "${b}")
	c.Set("b", "x${a}")
	c.Set("self", "${self}")
	for _, k := range []string{"a", "self"} {
		_, _, err := c.Lookup(k)
		if err == nil || !strings.Contains(err.Error(), "loop") {
			t.Errorf("Lookup(%s) err = %v, want a loop error", k, err)
		}
	}
	// A long but finite chain beyond the depth limit.
	for i := 0; i < 30; i++ {
		c.Set("k"+string(rune('a'+i)), "${k"+string(rune('a'+i+1))+"}")
	}
	if _, _, err := c.Lookup("ka"); err == nil || !strings.Contains(err.Error(), "deeper than") {
		t.Errorf("deep chain err = %v", err)
	}
	// Get falls back to the raw value.
	if got := c.Get("self"); got != "${self}" {
		t.Errorf("Get(self) = %q", got)
	}
}

func TestTypedGetters(t *testing.T) {
	c := New(envMap(nil))
	c.Set("n", " 42 ")
	c.Set("bad", "forty")
	c.Set("b", "TRUE")
	c.Set("d", "10s")
	c.Set("ms", "250")
	c.Set("list", " a, ,b ,c")
	if n, err := c.Int("n", 0); err != nil || n != 42 {
		t.Errorf("Int = %d, %v", n, err)
	}
	if _, err := c.Int("bad", 0); err == nil || !strings.Contains(err.Error(), "bad=\"forty\"") {
		t.Errorf("Int(bad) err = %v", err)
	}
	if b, err := c.Bool("b", false); err != nil || !b {
		t.Errorf("Bool = %v, %v", b, err)
	}
	if d, err := c.Millis("d", 0); err != nil || d.Seconds() != 10 {
		t.Errorf("Millis(d) = %v, %v", d, err)
	}
	if d, err := c.Millis("ms", 0); err != nil || d.Milliseconds() != 250 {
		t.Errorf("Millis(ms) = %v, %v", d, err)
	}
	if l, _ := c.Strings("list"); strings.Join(l, "|") != "a|b|c" {
		t.Errorf("Strings = %q", l)
	}
	if d, err := c.Millis("ipc.client.connection.maxidletime", 0); err != nil || d.Seconds() != 10 {
		t.Errorf("default maxidletime = %v, %v", d, err)
	}
}

func TestResourceManagersHA(t *testing.T) {
	c := New(envMap(nil))
	c.Set("yarn.resourcemanager.ha.enabled", "true")
	c.Set("yarn.resourcemanager.ha.rm-ids", "rm1, rm2,rm3")
	c.Set("yarn.resourcemanager.hostname.rm1", "h1")
	c.Set("yarn.resourcemanager.address.rm2", "h2:9999")
	c.Set("yarn.resourcemanager.hostname.rm3", "h3")
	c.Set("yarn.resourcemanager.scheduler.address.rm3", "h3:7777")
	rms, err := c.ResourceManagers(RMClient)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, r := range rms {
		got = append(got, r.ID+"="+r.Addr)
	}
	if strings.Join(got, " ") != "rm1=h1:8032 rm2=h2:9999 rm3=h3:8032" {
		t.Errorf("client RMs = %v", got)
	}
	rms, err = c.ResourceManagers(RMScheduler)
	if err == nil {
		t.Errorf("rm2 has no scheduler address nor hostname, want an error, got %v", rms)
	}
	c.Set("yarn.resourcemanager.ha.rm-ids", "")
	if _, err := c.ResourceManagers(RMClient); err == nil || !strings.Contains(err.Error(), "rm-ids is empty") {
		t.Errorf("err = %v", err)
	}
}

func TestDeprecatedName(t *testing.T) {
	c := New(envMap(nil))
	if c.Get("fs.defaultFS") != "file:///" {
		t.Fatalf("default fs.defaultFS = %q", c.Get("fs.defaultFS"))
	}
	c.Set("fs.default.name", "hdfs://old:8020")
	if c.Get("fs.defaultFS") != "hdfs://old:8020" {
		t.Fatalf("fs.defaultFS = %q, want the deprecated fs.default.name", c.Get("fs.defaultFS"))
	}
	c.Set("fs.defaultFS", "hdfs://new:8020")
	if c.Get("fs.defaultFS") != "hdfs://new:8020" {
		t.Fatalf("fs.defaultFS = %q", c.Get("fs.defaultFS"))
	}
}

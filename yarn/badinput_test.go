package yarn_test

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/yarn"
)

func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func writeSite(t *testing.T, dir, name string, props map[string]string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("<?xml version=\"1.0\"?>\n<configuration>\n")
	for k, v := range props {
		b.WriteString("  <property><name>" + k + "</name><value>" + v + "</value></property>\n")
	}
	b.WriteString("</configuration>\n")
	if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestNoHadoopConfDir(t *testing.T) {
	t.Setenv("HADOOP_CONF_DIR", "")
	t.Setenv("YARN_CONF_DIR", "")
	m, _ := conf.ParseMaster("yarn")
	if _, err := yarn.New(m, conf.New(), nil); !errors.Is(err, yarn.ErrNoHadoopConf) {
		t.Fatalf("yarn.New without HADOOP_CONF_DIR: %v", err)
	}
	_, err := stoke.New(stoke.Config{"stoke.master": "yarn", "stoke.ui.enabled": "false"})
	if err == nil || !strings.Contains(err.Error(), "HADOOP_CONF_DIR") {
		t.Fatalf("stoke.New: %v", err)
	}
	t.Setenv("HADOOP_CONF_DIR", filepath.Join(t.TempDir(), "missing"))
	if _, err := yarn.New(m, conf.New(), nil); err == nil || !strings.Contains(err.Error(), "not a readable directory") {
		t.Fatalf("missing directory: %v", err)
	}
}

func TestMalformedSiteFile(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "yarn-site.xml"), []byte("<configuration><property><name>x</name>"), 0o644)
	t.Setenv("HADOOP_CONF_DIR", dir)
	m, _ := conf.ParseMaster("yarn")
	_, err := yarn.New(m, conf.New(), nil)
	if err == nil || !strings.Contains(err.Error(), "yarn-site.xml") {
		t.Fatalf("malformed yarn-site.xml: %v", err)
	}
}

func TestUnreachableResourceManager(t *testing.T) {
	dir := t.TempDir()
	rm := closedPort(t)
	writeSite(t, dir, "core-site.xml", map[string]string{"fs.defaultFS": "hdfs://" + closedPort(t)})
	writeSite(t, dir, "yarn-site.xml", map[string]string{"yarn.resourcemanager.address": rm, "ipc.client.connect.timeout": "2000"})
	t.Setenv("HADOOP_CONF_DIR", dir)
	t0 := time.Now()
	_, err := stoke.New(stoke.Config{"stoke.master": "yarn", "stoke.ui.enabled": "false"})
	if err == nil || !strings.Contains(err.Error(), rm) || !strings.Contains(err.Error(), "new application") {
		t.Fatalf("unreachable RM: %v", err)
	}
	t.Logf("gave up after %v: %v", time.Since(t0).Round(time.Millisecond), err)
}

func TestBadApplicationIDs(t *testing.T) {
	dir := t.TempDir()
	writeSite(t, dir, "yarn-site.xml", map[string]string{"yarn.resourcemanager.address": closedPort(t)})
	t.Setenv("HADOOP_CONF_DIR", dir)
	c, err := yarn.NewClient(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, id := range []string{"", "app_1_2", "application_x_1", "application_1_2_3"} {
		if _, err := c.Report(t.Context(), id); err == nil || !strings.Contains(err.Error(), "not of the form") {
			t.Errorf("report of %q: %v", id, err)
		}
		if err := c.Kill(t.Context(), id, ""); err == nil || !strings.Contains(err.Error(), "not of the form") {
			t.Errorf("kill of %q: %v", id, err)
		}
	}
}

package ipc

import (
	"strings"
	"testing"
	"time"

	"github.com/stoke-run/stoke/internal/hadoop/hconf"
)

func TestConfigFrom(t *testing.T) {
	conf := hconf.New(func(string) (string, bool) { return "", false })
	cfg, err := ConfigFrom(conf, ApplicationClientProtocol)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ConnectTimeout != 20*time.Second || cfg.CallTimeout != 2*time.Minute || cfg.PingInterval != time.Minute ||
		cfg.MaxIdle != 10*time.Second || cfg.MaxResponseLength != DefaultMaxResponseLength {
		t.Fatalf("defaults: %+v", cfg)
	}
	conf.Set("ipc.client.ping", "false")
	conf.Set("ipc.client.connect.timeout", "5s")
	cfg, _ = ConfigFrom(conf, ApplicationClientProtocol)
	if cfg.PingInterval != 0 || cfg.ConnectTimeout != 5*time.Second {
		t.Fatalf("overrides: %+v", cfg)
	}
	conf.Set("ipc.client.rpc-timeout.ms", "soon")
	if _, err := ConfigFrom(conf, ApplicationClientProtocol); err == nil || !strings.Contains(err.Error(), "ipc.client.rpc-timeout.ms") {
		t.Fatalf("err = %v", err)
	}
}

func TestNewRMClientHA(t *testing.T) {
	conf := hconf.New(func(string) (string, bool) { return "", false })
	conf.Set("yarn.resourcemanager.ha.enabled", "true")
	conf.Set("yarn.resourcemanager.ha.rm-ids", "rm1,rm2")
	conf.Set("yarn.resourcemanager.hostname.rm1", "a")
	conf.Set("yarn.resourcemanager.hostname.rm2", "b")
	cl, err := NewRMClient(conf, hconf.RMScheduler, ApplicationMasterProtocol)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(cl.addrs, ",") != "a:8030,b:8030" {
		t.Fatalf("addrs = %v", cl.addrs)
	}
}

package ipc

import (
	"fmt"
	"time"

	"github.com/stoke-run/stoke/internal/hadoop/hconf"
)

// ConfigFrom fills a Config for protocol from a Hadoop configuration's ipc.* keys:
// ipc.client.connect.timeout, ipc.client.rpc-timeout.ms, ipc.client.ping / ipc.ping.interval,
// ipc.client.connection.maxidletime and ipc.maximum.response.length.
func ConfigFrom(conf *hconf.Config, protocol string) (Config, error) {
	cfg := Config{Protocol: protocol}
	var err error
	if cfg.ConnectTimeout, err = conf.Millis("ipc.client.connect.timeout", 20*time.Second); err != nil {
		return cfg, err
	}
	if cfg.CallTimeout, err = conf.Millis("ipc.client.rpc-timeout.ms", 120*time.Second); err != nil {
		return cfg, err
	}
	ping, err := conf.Bool("ipc.client.ping", true)
	if err != nil {
		return cfg, err
	}
	if ping {
		if cfg.PingInterval, err = conf.Millis("ipc.ping.interval", time.Minute); err != nil {
			return cfg, err
		}
	}
	if cfg.MaxIdle, err = conf.Millis("ipc.client.connection.maxidletime", 10*time.Second); err != nil {
		return cfg, err
	}
	n, err := conf.Int("ipc.maximum.response.length", DefaultMaxResponseLength)
	if err != nil {
		return cfg, err
	}
	if n <= 0 || n > 1<<31-1 {
		return cfg, fmt.Errorf("ipc: ipc.maximum.response.length=%d is out of range", n)
	}
	cfg.MaxResponseLength = int(n)
	return cfg, nil
}

// NewRMClient returns a client for protocol on the ResourceManager service, with every
// ResourceManager of an HA pair (yarn.resourcemanager.ha.rm-ids) as a failover target.
func NewRMClient(conf *hconf.Config, service hconf.RMService, protocol string, auth ...Authenticator) (*Client, error) {
	rms, err := conf.ResourceManagers(service)
	if err != nil {
		return nil, err
	}
	cfg, err := ConfigFrom(conf, protocol)
	if err != nil {
		return nil, err
	}
	cfg.Auth = auth
	addrs := make([]string, len(rms))
	for i, r := range rms {
		addrs[i] = r.Addr
	}
	return NewClient(addrs, cfg)
}

package hconf

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// RMService names a ResourceManager endpoint by its yarn-site key suffix.
type RMService string

// The ResourceManager endpoints and their default ports.
const (
	RMClient    RMService = "yarn.resourcemanager.address"           // ApplicationClientProtocol, 8032
	RMScheduler RMService = "yarn.resourcemanager.scheduler.address" // ApplicationMasterProtocol, 8030
	RMAdmin     RMService = "yarn.resourcemanager.admin.address"     // 8033
	RMWebApp    RMService = "yarn.resourcemanager.webapp.address"    // 8088
)

var rmDefaultPorts = map[RMService]int{RMClient: 8032, RMScheduler: 8030, RMAdmin: 8033, RMWebApp: 8088}

// RMAddress is one ResourceManager's address for a service.
type RMAddress struct {
	ID   string // HA rm-id ("" without HA)
	Addr string // host:port
}

// ResourceManagers returns the addresses of service on every ResourceManager, in
// yarn.resourcemanager.ha.rm-ids order when HA is enabled. For each rm-id the address is
// <service>.<rm-id>, else yarn.resourcemanager.hostname.<rm-id> with the default port.
func (c *Config) ResourceManagers(service RMService) ([]RMAddress, error) {
	port, ok := rmDefaultPorts[service]
	if !ok {
		return nil, fmt.Errorf("hconf: unknown ResourceManager service %q", service)
	}
	ha, err := c.Bool("yarn.resourcemanager.ha.enabled", false)
	if err != nil {
		return nil, err
	}
	if !ha {
		v, _, err := c.Lookup(string(service))
		if err != nil {
			return nil, err
		}
		addr, err := hostPort(v, port)
		if err != nil {
			return nil, fmt.Errorf("hconf: %s=%q (from %s): %v", service, v, c.Source(string(service)), err)
		}
		return []RMAddress{{Addr: addr}}, nil
	}
	ids, err := c.Strings("yarn.resourcemanager.ha.rm-ids")
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("hconf: yarn.resourcemanager.ha.enabled is true but yarn.resourcemanager.ha.rm-ids is empty")
	}
	var out []RMAddress
	for _, id := range ids {
		key := string(service) + "." + id
		v, ok, err := c.Lookup(key)
		if err != nil {
			return nil, err
		}
		if !ok || v == "" {
			hkey := "yarn.resourcemanager.hostname." + id
			h, hok, err := c.Lookup(hkey)
			if err != nil {
				return nil, err
			}
			if !hok || h == "" {
				return nil, fmt.Errorf("hconf: ResourceManager %q (yarn.resourcemanager.ha.rm-ids) has neither %s nor %s", id, key, hkey)
			}
			v = h
		}
		addr, err := hostPort(v, port)
		if err != nil {
			return nil, fmt.Errorf("hconf: %s=%q: %v", key, v, err)
		}
		out = append(out, RMAddress{ID: id, Addr: addr})
	}
	return out, nil
}

// hostPort normalises "host", "host:port" to host:port, using def for a missing port.
func hostPort(v string, def int) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", fmt.Errorf("empty address")
	}
	if strings.Contains(v, "${") {
		return "", fmt.Errorf("unresolved variable in address")
	}
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		if strings.Contains(err.Error(), "missing port") {
			return net.JoinHostPort(v, strconv.Itoa(def)), nil
		}
		return "", err
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return "", fmt.Errorf("bad port %q", port)
	}
	if host == "" {
		return "", fmt.Errorf("missing host")
	}
	return net.JoinHostPort(host, port), nil
}

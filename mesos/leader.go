package mesos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/stoke-run/stoke/internal/conf"
)

// findLeader returns host:port of the leading master. With several hosts
// or one, it asks each /master/redirect (a 307 to the leader, as Mesos
// answers on any master); through ZooKeeper it reads the lowest
// json.info_ node under the path.
func findLeader(ctx context.Context, m conf.Master, hc *http.Client) (string, error) {
	if m.ZooKeeper != "" {
		return zkLeader(ctx, m.ZooKeeper)
	}
	var errs []error
	for _, h := range m.Hosts {
		l, err := redirectLeader(ctx, h, hc)
		if err == nil {
			return l, nil
		}
		errs = append(errs, err)
	}
	return "", fmt.Errorf("finding the leading Mesos master of %s: %w", m.Raw, errors.Join(errs...))
}

// redirectLeader asks one master where the leader is.
func redirectLeader(ctx context.Context, host string, hc *http.Client) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+host+"/master/redirect", nil)
	if err != nil {
		return "", err
	}
	c := *hc
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusTemporaryRedirect, http.StatusFound, http.StatusMovedPermanently:
		return leaderFromLocation(resp.Header.Get("Location"), host)
	case http.StatusServiceUnavailable:
		return "", fmt.Errorf("master %s: no leading master elected yet (503)", host)
	}
	return "", fmt.Errorf("master %s: /master/redirect answered %s", host, resp.Status)
}

// leaderFromLocation reads "//host:port[/...]" or "http://host:port/...".
func leaderFromLocation(loc, from string) (string, error) {
	s := loc
	if i := strings.Index(s, "//"); i >= 0 {
		s = s[i+2:]
	}
	if i := strings.IndexByte(s, '/'); i >= 0 {
		s = s[:i]
	}
	if _, _, err := net.SplitHostPort(s); err != nil || s == "" {
		return "", fmt.Errorf("master %s: cannot read the leader from Location %q", from, loc)
	}
	return s, nil
}

// zkLeader reads the leading master from ZooKeeper ("hosts/path").
func zkLeader(ctx context.Context, spec string) (string, error) {
	hosts, path, _ := strings.Cut(spec, "/")
	path = "/" + path
	c, _, err := zk.Connect(strings.Split(hosts, ","), 10*time.Second, zk.WithLogInfo(false))
	if err != nil {
		return "", fmt.Errorf("ZooKeeper %s: %w", hosts, err)
	}
	defer c.Close()
	type res struct {
		addr string
		err  error
	}
	ch := make(chan res, 1)
	go func() {
		a, err := zkRead(c, path)
		ch <- res{a, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			return "", fmt.Errorf("leading Mesos master from ZooKeeper %s%s: %w", hosts, path, r.err)
		}
		return r.addr, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func zkRead(c *zk.Conn, path string) (string, error) {
	kids, _, err := c.Children(path)
	if err != nil {
		return "", err
	}
	var infos []string
	for _, k := range kids {
		if strings.HasPrefix(k, "json.info_") {
			infos = append(infos, k)
		}
	}
	if len(infos) == 0 {
		return "", errors.New("no json.info_ node: no master is elected")
	}
	sort.Strings(infos)
	data, _, err := c.Get(path + "/" + infos[0])
	if err != nil {
		return "", err
	}
	return masterInfoAddr(data)
}

// masterInfoAddr reads host:port from a MasterInfo in JSON.
func masterInfoAddr(data []byte) (string, error) {
	var mi struct {
		Hostname string `json:"hostname"`
		Port     int    `json:"port"`
		Address  struct {
			Hostname string `json:"hostname"`
			IP       string `json:"ip"`
			Port     int    `json:"port"`
		} `json:"address"`
	}
	if err := json.Unmarshal(data, &mi); err != nil {
		return "", fmt.Errorf("malformed MasterInfo %q: %w", data, err)
	}
	host, port := mi.Address.Hostname, mi.Address.Port
	if host == "" {
		host = mi.Address.IP
	}
	if host == "" {
		host = mi.Hostname
	}
	if port == 0 {
		port = mi.Port
	}
	if host == "" || port == 0 {
		return "", fmt.Errorf("MasterInfo %q names no host and port", data)
	}
	return net.JoinHostPort(host, strconv.Itoa(port)), nil
}

package conf

import (
	"fmt"
	"net/url"
	"strings"
)

// HistoryServerBase is the base URL of a history server given as host:port
// or an http(s) URL ("" for ""), as stoke.yarn.historyServer.address and
// stoke.deploy.historyServer.address take it.
func HistoryServerBase(addr string) (string, error) {
	if addr == "" {
		return "", nil
	}
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	u, err := url.Parse(addr)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return "", fmt.Errorf("%q is not host:port or an http(s) URL of the history server", strings.TrimPrefix(addr, "http://"))
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

// HistoryServerAddress is the Check of a history server address key.
func HistoryServerAddress(v any) error {
	s, _ := v.(string)
	_, err := HistoryServerBase(s)
	return err
}

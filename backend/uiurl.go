package backend

import (
	"net"
	"net/url"
)

// UIURLer is a Driver that serves a web UI (the driver's Context does).
type UIURLer interface{ UIURL() string }

// DriverUIURL is the driver UI's address as a cluster manager's UI should
// link to it ("" when the driver serves none): a UI listening on every
// interface (bind empty) is named by host, the address executors reach the
// driver at, instead of 127.0.0.1.
func DriverUIURL(d Driver, host, bind string) string {
	u, ok := d.(UIURLer)
	if !ok {
		return ""
	}
	return advertised(u.UIURL(), host, bind)
}

func advertised(ui, host, bind string) string {
	u, err := url.Parse(ui)
	if ui == "" || err != nil || u.Host == "" {
		return ""
	}
	if h := u.Hostname(); bind == "" && host != "" && (h == "127.0.0.1" || h == "::1" || h == "localhost") {
		u.Host = net.JoinHostPort(host, u.Port())
	}
	return u.String()
}

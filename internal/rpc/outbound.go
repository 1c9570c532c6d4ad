package rpc

import "net"

// OutboundHost is the local address this machine uses to reach addr
// (host:port), so that a process advertises an address its peers can reach;
// 127.0.0.1 when there is no route. Dialling UDP sends nothing.
func OutboundHost(addr string) string {
	c, err := net.Dial("udp", addr)
	if err != nil {
		return "127.0.0.1"
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).IP.String()
}

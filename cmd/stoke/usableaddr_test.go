package main

import (
	"net"
	"os"
	"testing"
)

// A daemon listening on every interface prints a URL others can dial: the
// host name, not [::] or 0.0.0.0; a specific address stays as it is.
func TestUsableAddr(t *testing.T) {
	name, err := os.Hostname()
	if err != nil || name == "" {
		t.Skip("this machine has no host name")
	}
	for in, want := range map[string]string{
		"[::]:7077":      net.JoinHostPort(name, "7077"),
		"0.0.0.0:8080":   net.JoinHostPort(name, "8080"),
		":7077":          net.JoinHostPort(name, "7077"),
		"10.1.2.3:7077":  "10.1.2.3:7077",
		"[fe80::1]:7077": "[fe80::1]:7077",
		"not-an-address": "not-an-address",
	} {
		if got := usableAddr(in); got != want {
			t.Errorf("usableAddr(%q) = %q, want %q", in, got, want)
		}
	}
}

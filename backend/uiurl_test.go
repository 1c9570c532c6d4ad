package backend

import "testing"

func TestAdvertisedUI(t *testing.T) {
	for _, c := range []struct{ ui, host, bind, want string }{
		{"http://127.0.0.1:4040", "10.0.0.5", "", "http://10.0.0.5:4040"},
		{"http://127.0.0.1:4041", "driver.example", "", "http://driver.example:4041"},
		{"http://127.0.0.1:4040", "10.0.0.5", "127.0.0.1", "http://127.0.0.1:4040"}, // bound to loopback on purpose
		{"http://10.0.0.7:4040", "10.0.0.5", "10.0.0.7", "http://10.0.0.7:4040"},
		{"", "10.0.0.5", "", ""},
		{"::not a url", "10.0.0.5", "", ""},
	} {
		if got := advertised(c.ui, c.host, c.bind); got != c.want {
			t.Errorf("advertised(%q, %q, %q) = %q, want %q", c.ui, c.host, c.bind, got, c.want)
		}
	}
}

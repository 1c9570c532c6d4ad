package offers

import "testing"

func TestParseConstraints(t *testing.T) {
	c, err := ParseConstraints("os:centos7;zone:us-east-1a,us-east-1b;gpu")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.String(), "gpu;os:centos7;zone:us-east-1a,us-east-1b"; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
	for _, bad := range []string{":x", "a:1;a:2"} {
		if _, err := ParseConstraints(bad); err == nil {
			t.Errorf("ParseConstraints(%q) succeeded, want an error", bad)
		}
	}
	if c, err := ParseConstraints(""); err != nil || len(c) != 0 {
		t.Errorf("empty constraints: %v %v", c, err)
	}
}

func TestConstraintsMatch(t *testing.T) {
	attrs := []Attribute{
		{Name: "os", Kind: Text, Text: "centos7"},
		{Name: "zone", Kind: Text, Text: "us-east-1b"},
		{Name: "gpu", Kind: Scalar, Scalar: 2},
		{Name: "rack", Kind: Ranges, Ranges: []Range{{10, 20}}},
		{Name: "tags", Kind: Set, Set: []string{"ssd", "fast"}},
	}
	for _, c := range []struct {
		s    string
		want bool
	}{
		{"os:centos7;zone:us-east-1a,us-east-1b;gpu", true},
		{"os:ubuntu", false},
		{"missing", false},
		{"gpu:1", true}, {"gpu:3", false},
		{"rack:15", true}, {"rack:21", false},
		{"tags:ssd", true}, {"tags:ssd,fast", true}, {"tags:ssd,hdd", false},
	} {
		cs, err := ParseConstraints(c.s)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := cs.Match(attrs); got != c.want {
			t.Errorf("%q: match = %v, want %v", c.s, got, c.want)
		}
	}
}

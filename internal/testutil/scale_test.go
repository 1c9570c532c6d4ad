package testutil

import (
	"testing"
	"time"
)

func TestParseScale(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		bad  bool
	}{{"", DefaultScale, false}, {"1", 1, false}, {"2.5", 2.5, false}, {"0", 0, true}, {"0.5", 0, true}, {"x", 0, true}, {"-3", 0, true}, {"1e9", 0, true}} {
		got, err := parseScale(tc.in)
		if tc.bad != (err != nil) || (!tc.bad && got != tc.want) {
			t.Errorf("parseScale(%q) = %v, %v; want %v (error %v)", tc.in, got, err, tc.want, tc.bad)
		}
	}
}

type recorder struct{ failed string }

func (r *recorder) Helper()                        {}
func (r *recorder) Fatalf(format string, a ...any) { r.failed = format }

func TestEventually(t *testing.T) {
	n := 0
	Eventually(t, time.Second, "three polls", func() bool { n++; return n >= 3 })
	var r recorder
	Eventually(&r, time.Millisecond, "never", func() bool { return false })
	if r.failed == "" {
		t.Fatal("Eventually did not fail on a condition that never holds")
	}
}

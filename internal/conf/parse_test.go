package conf

import (
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	good := []struct {
		in   string
		unit string
		want time.Duration
	}{
		{"100ms", "", 100 * time.Millisecond},
		{"3s", "ms", 3 * time.Second},
		{"2min", "", 2 * time.Minute},
		{"2m", "", 2 * time.Minute},
		{"1h", "", time.Hour},
		{"1d", "", 24 * time.Hour},
		{"500us", "", 500 * time.Microsecond},
		{" 3S ", "", 3 * time.Second},
		{"3 s", "", 3 * time.Second},
		{"0", "s", 0},
		{"250", "ms", 250 * time.Millisecond},
		{"120", "s", 120 * time.Second},
		{"7", "", 7 * time.Millisecond},
		{"+5s", "", 5 * time.Second},
	}
	for _, tc := range good {
		got, err := ParseDuration(tc.in, tc.unit)
		if err != nil || got != tc.want {
			t.Errorf("ParseDuration(%q, %q) = %v, %v; want %v", tc.in, tc.unit, got, err, tc.want)
		}
	}
	bad := []struct{ in, unit, why string }{
		{"", "", "empty"},
		{"   ", "", "empty"},
		{"abc", "", "does not start with a number"},
		{"s", "", "does not start with a number"},
		{"-1s", "", "negative"},
		{"1.5s", "", "fractional"},
		{"10x", "", `unknown time unit "x"`},
		{"10 sec", "", `unknown time unit "sec"`},
		{"10ns", "", "unknown time unit"},
		{"1s2", "", "unknown time unit"},
		{"1h30m", "", "unknown time unit"},
		{"99999999999999999999s", "", "too large"},
		{"200000d", "", "too large"},
		{"1-2s", "", "not a number"},
		{"+", "", "not a number"},
		{"10", "fortnight", "unknown time unit"},
	}
	for _, tc := range bad {
		_, err := ParseDuration(tc.in, tc.unit)
		if err == nil || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("ParseDuration(%q, %q) error = %v; want it to mention %q", tc.in, tc.unit, err, tc.why)
		}
	}
}

func TestParseBytes(t *testing.T) {
	good := []struct {
		in   string
		unit string
		want int64
	}{
		{"512m", "", 512 << 20},
		{"1g", "", 1 << 30},
		{"1G", "", 1 << 30},
		{"1gb", "", 1 << 30},
		{"1GiB", "", 1 << 30},
		{"1024k", "", 1 << 20},
		{"1t", "", 1 << 40},
		{"2p", "", 2 << 50},
		{"100b", "", 100},
		{"100", "", 100},
		{"100", "b", 100},
		{"512", "m", 512 << 20},
		{"0", "m", 0},
	}
	for _, tc := range good {
		got, err := ParseBytes(tc.in, tc.unit)
		if err != nil || got != tc.want {
			t.Errorf("ParseBytes(%q, %q) = %v, %v; want %v", tc.in, tc.unit, got, err, tc.want)
		}
	}
	bad := []struct{ in, why string }{
		{"", "empty"},
		{"g", "does not start with a number"},
		{"lots", "does not start with a number"},
		{"-1g", "negative"},
		{"1.5g", "fractional"},
		{"10q", `unknown size unit "q"`},
		{"10 bytes", "unknown size unit"},
		{"9999999p", "too large"},
		{"99999999999999999999", "too large"},
	}
	for _, tc := range bad {
		_, err := ParseBytes(tc.in, "")
		if err == nil || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("ParseBytes(%q) error = %v; want it to mention %q", tc.in, err, tc.why)
		}
	}
}

func TestTypedGetters(t *testing.T) {
	c := New()
	c.Set("stoke.task.maxFailures", "7", SourceCode)
	c.Set("stoke.speculation", "TRUE", SourceCode)
	c.Set("stoke.speculation.quantile", "0.5", SourceCode)
	c.Set("stoke.speculation.interval", "250", SourceCode)  // bare: ms
	c.Set("stoke.network.timeout", "30", SourceCode)        // bare: s
	c.Set("stoke.executor.memory", "2048", SourceCode)      // bare: MiB
	c.Set("stoke.driver.maxResultSize", "4096", SourceCode) // bare: bytes
	c.Set("stoke.locality.wait", "5s", SourceCode)
	c.Set("my.own.int", " 12 ", SourceCode)

	check := func(name string, got, want any, err error) {
		t.Helper()
		if err != nil || got != want {
			t.Errorf("%s = %v, %v; want %v", name, got, err, want)
		}
	}
	n, err := c.Int("stoke.task.maxFailures")
	check("Int maxFailures", n, 7, err)
	n64, err := c.Int64("my.own.int")
	check("Int64 my.own.int", n64, int64(12), err)
	b, err := c.Bool("stoke.speculation")
	check("Bool speculation", b, true, err)
	f, err := c.Float("stoke.speculation.quantile")
	check("Float quantile", f, 0.5, err)
	d, err := c.Duration("stoke.speculation.interval")
	check("Duration interval", d, 250*time.Millisecond, err)
	d, err = c.Duration("stoke.network.timeout")
	check("Duration network.timeout", d, 30*time.Second, err)
	sz, err := c.Bytes("stoke.executor.memory")
	check("Bytes executor.memory", sz, int64(2048<<20), err)
	sz, err = c.Bytes("stoke.driver.maxResultSize")
	check("Bytes maxResultSize", sz, int64(4096), err)
	// Fallback: locality.wait.node is unset and takes locality.wait.
	d, err = c.Duration("stoke.locality.wait.node")
	check("Duration locality.wait.node", d, 5*time.Second, err)

	c.Set("stoke.driver.host", "10.1.2.3", SourceCode)
	if got := c.String("stoke.driver.bindAddress"); got != "10.1.2.3" {
		t.Errorf("bindAddress falls back to driver.host: got %q", got)
	}

	// Defaults when unset.
	n, err = c.Int("stoke.executor.cores")
	check("Int executor.cores default", n, 1, err)
	b, err = c.Bool("stoke.ui.enabled")
	check("Bool ui.enabled default", b, true, err)
	f, err = c.Float("stoke.speculation.multiplier")
	check("Float multiplier default", f, 1.5, err)
	d, err = c.Duration("stoke.excludeOnFailure.timeout")
	check("Duration exclude timeout default", d, time.Hour, err)
	sz, err = c.Bytes("stoke.rpc.message.maxSize")
	check("Bytes rpc maxSize default", sz, int64(128<<20), err)
	sz, err = c.Bytes("stoke.driver.memory")
	check("Bytes driver.memory default", sz, int64(1<<30), err)
	if got := c.String("stoke.scheduler.mode"); got != "FIFO" {
		t.Errorf("String(scheduler.mode) = %q, want FIFO", got)
	}
	if got := c.String("stoke.master"); got != "local[*]" {
		t.Errorf("String(master) = %q, want local[*]", got)
	}
	if got := c.String("no.such.key"); got != "" {
		t.Errorf("String(no.such.key) = %q", got)
	}
	if _, ok := c.Get("stoke.executor.cores"); ok {
		t.Error("Get reports a default as set")
	}
}

func TestTypedGetterErrors(t *testing.T) {
	c := New()
	c.Set("stoke.task.maxFailures", "abc", SourceCode)
	c.Set("stoke.executor.cores", "0", SourceCode)
	c.Set("stoke.speculation", "yes", SourceCode)
	c.Set("stoke.speculation.quantile", "NaN", SourceCode)
	c.Set("stoke.speculation.interval", "fast", SourceCode)
	c.Set("stoke.executor.memory", "1.5g", SourceCode)
	c.Set("stoke.ui.port", "99999999999999999999999", SourceCode)
	for _, tc := range []struct {
		get  func() error
		want string
	}{
		{func() error { _, err := c.Int("stoke.task.maxFailures"); return err }, `invalid value "abc" for stoke.task.maxFailures: not an integer`},
		{func() error { _, err := c.Int("stoke.executor.cores"); return err }, `invalid value "0" for stoke.executor.cores: must be at least 1`},
		{func() error { _, err := c.Bool("stoke.speculation"); return err }, `invalid value "yes" for stoke.speculation: expected true or false`},
		{func() error { _, err := c.Float("stoke.speculation.quantile"); return err }, `invalid value "NaN" for stoke.speculation.quantile: not a finite number`},
		{func() error { _, err := c.Duration("stoke.speculation.interval"); return err }, `invalid value "fast" for stoke.speculation.interval`},
		{func() error { _, err := c.Bytes("stoke.executor.memory"); return err }, `invalid value "1.5g" for stoke.executor.memory: fractional`},
		{func() error { _, err := c.Int("stoke.ui.port"); return err }, `out of range`},
		{func() error { _, err := c.Int("stoke.cores.max"); return err }, `stoke.cores.max is not set and has no default`},
	} {
		err := tc.get()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error = %v; want it to contain %q", err, tc.want)
		}
	}
}

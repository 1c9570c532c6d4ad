package sched

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseAllocationFile(t *testing.T) {
	tests := []struct {
		name     string
		xml      string
		want     []PoolConfig
		warnings []string // substrings, in order
		err      string   // substring
	}{
		{
			name: "good",
			xml: `<?xml version="1.0"?>
<allocations>
  <pool name="production">
    <schedulingMode>FAIR</schedulingMode>
    <weight>1</weight>
    <minShare>2</minShare>
  </pool>
  <pool name="test">
    <schedulingMode>FIFO</schedulingMode>
    <weight>2</weight>
    <minShare>3</minShare>
  </pool>
</allocations>`,
			want: []PoolConfig{{"production", FAIR, 1, 2}, {"test", FIFO, 2, 3}},
		},
		{
			name: "trimmed and case-insensitive",
			xml: `<allocations><pool name=" p ">
  <schedulingMode>  fair </schedulingMode><weight> 7 </weight><minShare>
    4
  </minShare></pool><pool name="q"><schedulingMode>Fifo</schedulingMode></pool></allocations>`,
			want: []PoolConfig{{"p", FAIR, 7, 4}, {"q", FIFO, 1, 0}},
		},
		{
			name: "blank and invalid values take defaults with warnings",
			xml: `<allocations>
<pool name="a"><schedulingMode></schedulingMode><weight>  </weight><minShare>-1</minShare></pool>
<pool name="b"><schedulingMode>NONE</schedulingMode><weight>x</weight><minShare>2.5</minShare></pool>
<pool name="c"><weight>-3</weight><weight>0</weight></pool>
</allocations>`,
			want: []PoolConfig{{"a", FIFO, 1, 0}, {"b", FIFO, 1, 0}, {"c", FIFO, 1, 0}},
			warnings: []string{
				`pool "a": schedulingMode "" is blank or invalid; using the default FIFO`,
				`pool "a": weight "" is blank or invalid; using the default 1`,
				`pool "a": minShare "-1" is blank or invalid; using the default 0`,
				`pool "b": schedulingMode "NONE"`,
				`pool "b": weight "x"`,
				`pool "b": minShare "2.5"`,
				`pool "c": weight "0"`,
			},
		},
		{
			name:     "duplicate pool: last wins",
			xml:      `<allocations><pool name="a"><weight>2</weight></pool><pool name="a"><weight>5</weight></pool></allocations>`,
			want:     []PoolConfig{{"a", FIFO, 5, 0}},
			warnings: []string{`pool "a" is defined more than once; the last definition wins`},
		},
		{
			name: "missing default pool is not added here",
			xml:  `<allocations><pool name="x"/></allocations>`,
			want: []PoolConfig{{"x", FIFO, 1, 0}},
		},
		{
			name: "malformed XML names the file and line",
			xml: `<allocations>
  <pool name="a">
    <weight>1</weight>
  </pol>
</allocations>`,
			err: "allocation file fair.xml:4: malformed XML",
		},
		{
			name: "unclosed element at the end",
			xml:  "<allocations>\n<pool name=\"a\">\n",
			err:  "fair.xml:3: malformed XML",
		},
		{name: "empty file", xml: "", err: "fair.xml:1: malformed XML: no root element"},
		{name: "blank file", xml: "\n  \n", err: "fair.xml:3: malformed XML: no root element"},
		{name: "no pools", xml: "<allocations/>", want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pools, warnings, err := ParseAllocationFile("fair.xml", []byte(tc.xml))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want it to contain %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(pools, tc.want) {
				t.Errorf("pools = %+v, want %+v", pools, tc.want)
			}
			if len(warnings) != len(tc.warnings) {
				t.Fatalf("warnings = %q, want %d", warnings, len(tc.warnings))
			}
			for i, w := range tc.warnings {
				if !strings.Contains(warnings[i], w) || !strings.HasPrefix(warnings[i], "fair.xml:") {
					t.Errorf("warning %d = %q, want it to contain %q", i, warnings[i], w)
				}
			}
		})
	}
}

func TestParseMode(t *testing.T) {
	for in, want := range map[string]Mode{"FIFO": FIFO, "fifo": FIFO, " Fair ": FAIR, "FAIR": FAIR} {
		if m, err := ParseMode(in); err != nil || m != want {
			t.Errorf("ParseMode(%q) = %v, %v; want %v", in, m, err, want)
		}
	}
	for _, in := range []string{"", "NONE", "fair-ish"} {
		if _, err := ParseMode(in); err == nil || !strings.Contains(err.Error(), `"`+in+`"`) {
			t.Errorf("ParseMode(%q) error = %v, want one naming the value", in, err)
		}
	}
	if FIFO.String() != "FIFO" || FAIR.String() != "FAIR" {
		t.Error("Mode.String")
	}
}

func TestNewPools(t *testing.T) {
	// FAIR without pools: one FAIR "default".
	s, w, err := New(Config{Mode: FAIR})
	if err != nil || len(w) != 0 {
		t.Fatal(err, w)
	}
	if got := s.Pools(); len(got) != 1 || got[0] != (PoolStatus{Name: "default", Mode: FAIR, Weight: 1}) {
		t.Errorf("pools = %+v", got)
	}
	// Pools without "default": FIFO "default" added with a warning.
	s, w, err = New(Config{Mode: FAIR, Pools: []PoolConfig{{"p", FAIR, 2, 1}}})
	if err != nil || len(w) != 1 || !strings.Contains(w[0], `"default"`) {
		t.Fatal(err, w)
	}
	want := []PoolStatus{{Name: "p", Mode: FAIR, Weight: 2, MinShare: 1}, {Name: "default", Mode: FIFO, Weight: 1}}
	if got := s.Pools(); !reflect.DeepEqual(got, want) {
		t.Errorf("pools = %+v, want %+v", got, want)
	}
	// A configured "default" is kept as is.
	s, w, _ = New(Config{Mode: FAIR, Pools: []PoolConfig{{"default", FAIR, 3, 0}}})
	if got := s.Pools(); len(w) != 0 || len(got) != 1 || got[0].Weight != 3 {
		t.Errorf("pools = %+v, warnings %q", got, w)
	}
	// Invalid values are refused or defaulted.
	if _, _, err := New(Config{Mode: Mode(7)}); err == nil {
		t.Error("bad mode accepted")
	}
	if _, w, _ := New(Config{Mode: FAIR, Pools: []PoolConfig{{"default", FAIR, 0, -1}}}); len(w) != 2 {
		t.Errorf("warnings = %q", w)
	}
	if _, _, err := New(Config{Exclude: ExcludeConfig{Enabled: true}, MaxFailures: 2}); err == nil {
		t.Error("MaxTaskAttemptsPerNode >= MaxFailures accepted")
	}
}

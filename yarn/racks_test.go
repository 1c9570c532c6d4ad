package yarn

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"

	"github.com/stoke-run/stoke/internal/hadoop/hconf"
)

func resolverOf(t *testing.T, props map[string]string) (*rackResolver, *test.Hook) {
	t.Helper()
	hc := hconf.New(func(string) (string, bool) { return "", false })
	for k, v := range props {
		hc.Set(k, v)
	}
	log, hook := test.NewNullLogger()
	log.SetLevel(logrus.DebugLevel)
	return newRackResolver(hc, log), hook
}

// A real topology script, run as Hadoop runs it: hosts as arguments, at
// most net.topology.script.number.args per run, one rack per host out;
// answers are cached.
func TestRackResolverScript(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "topology.sh")
	calls := filepath.Join(dir, "calls")
	body := `#!/bin/sh
echo "$@" >> ` + calls + `
for h in "$@"; do
  case "$h" in
    10.0.1.*) printf '/dc1/rack1 ' ;;
    *) printf '/dc1/rack2 ' ;;
  esac
done
`
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	r, _ := resolverOf(t, map[string]string{"net.topology.script.file.name": script, "net.topology.script.number.args": "2"})
	got := r.Racks([]string{"10.0.1.5", "node-9", "10.0.1.7"})
	want := map[string]string{"10.0.1.5": "/dc1/rack1", "node-9": "/dc1/rack2", "10.0.1.7": "/dc1/rack1"}
	if len(got) != 3 || got["10.0.1.5"] != want["10.0.1.5"] || got["node-9"] != want["node-9"] || got["10.0.1.7"] != want["10.0.1.7"] {
		t.Fatalf("racks %v, want %v", got, want)
	}
	r.Racks([]string{"node-9", "10.0.1.5"})
	data, _ := os.ReadFile(calls)
	runs := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(runs) != 2 || len(strings.Fields(runs[0])) != 2 || len(strings.Fields(runs[1])) != 1 {
		t.Fatalf("script runs %q: want two runs (2 hosts, then 1) and none for cached hosts", runs)
	}
}

// A script that fails, answers too few racks or something not a rack
// leaves those hosts in /default-rack with a warning; nothing is retried
// per allocate call (the answer is cached).
func TestRackResolverBadScripts(t *testing.T) {
	for name, tt := range map[string]struct {
		out      string
		err      error
		want     []string
		wantWarn string
	}{
		"fails":         {err: errors.New("exit status 1"), want: []string{defaultRack, defaultRack}, wantWarn: "failed"},
		"too few racks": {out: "/r1\n", want: []string{defaultRack, defaultRack}, wantWarn: "gave 1 rack(s) for 2 host(s)"},
		"not a rack":    {out: "rack1 /r2", want: []string{defaultRack, "/r2"}, wantWarn: "not a rack"},
		"double slash":  {out: "//r1 /r2/", want: []string{defaultRack, defaultRack}, wantWarn: "not a rack"},
		"control chars": {out: "/r\x01 /r2", want: []string{defaultRack, "/r2"}, wantWarn: "not a rack"},
		"sound":         {out: " /r1\n/r2\n", want: []string{"/r1", "/r2"}},
	} {
		t.Run(name, func(t *testing.T) {
			r, hook := resolverOf(t, map[string]string{"net.topology.script.file.name": "/nonexistent/topology.py"})
			runs := 0
			r.run = func(_ context.Context, script string, args []string) ([]byte, error) {
				runs++
				if script != "/nonexistent/topology.py" || !slices.Equal(args, []string{"h1", "h2"}) {
					t.Fatalf("ran %s %v", script, args)
				}
				return []byte(tt.out), tt.err
			}
			for range 2 {
				got := r.Racks([]string{"h1", "h2"})
				if got["h1"] != tt.want[0] || got["h2"] != tt.want[1] {
					t.Fatalf("racks %v, want h1 %s and h2 %s", got, tt.want[0], tt.want[1])
				}
			}
			if runs != 1 {
				t.Errorf("script ran %d times, want once", runs)
			}
			warned := ""
			for _, e := range hook.AllEntries() {
				warned += e.Message + "\n"
			}
			if tt.wantWarn != "" && !strings.Contains(warned, tt.wantWarn) {
				t.Errorf("warnings %q, want one saying %q", warned, tt.wantWarn)
			}
		})
	}
	// The script's path from the configuration, missing: a real exec error.
	r, hook := resolverOf(t, map[string]string{"net.topology.script.file.name": filepath.Join(t.TempDir(), "missing.sh")})
	if got := r.Racks([]string{"h1"}); got["h1"] != defaultRack {
		t.Fatalf("missing script: %v", got)
	}
	if len(hook.AllEntries()) == 0 {
		t.Fatal("a missing topology script was not reported")
	}
}

// TableMapping: "host rack" lines; malformed lines are skipped, unknown
// hosts and a missing table are /default-rack; no script or table at all
// puts every host there without running anything.
func TestRackResolverTable(t *testing.T) {
	table := filepath.Join(t.TempDir(), "topology.table")
	os.WriteFile(table, []byte("h1 /r1\n\nh2 /r2 extra\nh3 not-a-rack\nh4\t/r4\n"), 0o644)
	r, _ := resolverOf(t, map[string]string{"net.topology.node.switch.mapping.impl": "org.apache.hadoop.net.TableMapping", "net.topology.table.file.name": table,
		"net.topology.script.file.name": "/must/not/run"})
	got := r.Racks([]string{"h1", "h2", "h3", "h4", "h5"})
	want := map[string]string{"h1": "/r1", "h2": defaultRack, "h3": defaultRack, "h4": "/r4", "h5": defaultRack}
	for h, rack := range want {
		if got[h] != rack {
			t.Errorf("%s in %q, want %q", h, got[h], rack)
		}
	}
	r, hook := resolverOf(t, map[string]string{"net.topology.node.switch.mapping.impl": "org.apache.hadoop.net.TableMapping", "net.topology.table.file.name": table + ".missing"})
	if got := r.Racks([]string{"h1"}); got["h1"] != defaultRack {
		t.Fatalf("missing table: %v", got)
	}
	if len(hook.AllEntries()) == 0 {
		t.Fatal("a missing table was not reported")
	}
	r, _ = resolverOf(t, nil)
	r.run = func(context.Context, string, []string) ([]byte, error) { t.Fatal("ran a script"); return nil, nil }
	if got := r.Racks([]string{"h1"}); got["h1"] != defaultRack {
		t.Fatalf("no topology: %v", got)
	}
}

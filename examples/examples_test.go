// Package examples holds the example applications; this test builds and
// runs each one as a user would, so they double as smoke tests.
package examples

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func build(t *testing.T, name string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), name)
	if out, err := exec.Command("go", "build", "-o", bin, "./"+name).CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", name, err, out)
	}
	return bin
}

func run(t *testing.T, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "STOKE_CONF_DIR=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", filepath.Base(bin), args, err, out)
	}
	return string(out)
}

func TestWordCount(t *testing.T) {
	bin := build(t, "wordcount")
	out := run(t, bin, "-top", "3", "wordcount/sample.txt")
	if !regexp.MustCompile(`(?m)^the +27$`).MatchString(out) || !strings.Contains(out, "fire") {
		t.Fatalf("top words:\n%s", out)
	}
	// The same on executor processes, saving the counts.
	dir := filepath.Join(t.TempDir(), "counts")
	cmd := exec.Command(bin, "-top", "1", "-out", dir, "wordcount/sample.txt")
	confDir := t.TempDir()
	os.WriteFile(filepath.Join(confDir, "stoke-defaults.conf"), []byte("stoke.master local-cluster[2,2,1024]\nstoke.ui.enabled false\n"), 0o644)
	cmd.Env = append(os.Environ(), "STOKE_SUBMIT_CONF=", "STOKE_CONF_DIR="+confDir)
	out2, err := cmd.CombinedOutput()
	if err != nil || !regexp.MustCompile(`(?m)^the +27$`).MatchString(string(out2)) {
		t.Fatalf("word count on local-cluster: %v\n%s", err, out2)
	}
	if _, err := os.Stat(filepath.Join(dir, "_SUCCESS")); err != nil {
		t.Fatalf("no _SUCCESS in the output directory: %v", err)
	}
}

func TestPi(t *testing.T) {
	out := run(t, build(t, "pi"), "-samples", "400000", "-slices", "4")
	if !regexp.MustCompile(`pi is roughly 3\.1[0-9]+`).MatchString(out) {
		t.Fatalf("pi:\n%s", out)
	}
}

// On six slots the pool of weight 2 holds more of them than the pool of
// weight 1 while both jobs run, and launches more tasks meanwhile (the
// counts come from scheduling decisions, not from timing).
func TestFairPools(t *testing.T) {
	out := runOn(t, "local[6]", build(t, "fairpools"), "-alloc", "fairpools/pools.xml", "-tasks", "24", "-ms", "50")
	m := regexp.MustCompile(`production \(weight 2, minShare 1\): +([0-9.]+)% of the busy slots, ([0-9]+) tasks launched[^\n]*\n +adhoc +\(weight 1, minShare 0\): +([0-9.]+)% of the busy slots, ([0-9]+) tasks launched`).FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "6 task slots") {
		t.Fatalf("fairpools:\n%s", out)
	}
	prodLaunches, _ := strconv.Atoi(m[2])
	adhocLaunches, _ := strconv.Atoi(m[4])
	if prodLaunches <= adhocLaunches {
		t.Fatalf("weight 2 launched %d tasks and weight 1 %d while both ran:\n%s", prodLaunches, adhocLaunches, out)
	}
}

// runOn runs an example with the master given outside its code (the
// properties file, as stoke submit's --master would).
func runOn(t *testing.T, master, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	confDir := t.TempDir()
	os.WriteFile(filepath.Join(confDir, "stoke-defaults.conf"), []byte("stoke.master "+master+"\nstoke.ui.enabled false\n"), 0o644)
	cmd.Env = append(os.Environ(), "STOKE_SUBMIT_CONF=", "STOKE_CONF_DIR="+confDir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v on %s: %v\n%s", filepath.Base(bin), args, master, err, out)
	}
	return string(out)
}

// No example fixes its master in code (code wins over stoke submit's
// --master, so such an example could not be submitted to a cluster).
func TestExamplesTakeTheMasterFromOutside(t *testing.T) {
	mains, err := filepath.Glob("*/main.go")
	if err != nil || len(mains) == 0 {
		t.Fatalf("no examples found: %v", err)
	}
	for _, m := range mains {
		src, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		if regexp.MustCompile(`"stoke\.master"\s*:`).Match(src) {
			t.Errorf("%s sets stoke.master in code", m)
		}
	}
}

func TestSpeculationRescuesTheStraggler(t *testing.T) {
	out := runOn(t, "local-cluster[2,4,1024]", build(t, "speculation"), "-tasks", "6")
	if !strings.Contains(out, "6 results [0 1 2 3 4 5]") {
		t.Fatalf("speculation:\n%s", out)
	}
	// 30s is how long the straggler sleeps; a rescued job ends well before.
	m := regexp.MustCompile(`in ([0-9.]+)(ms|s) `).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no duration in:\n%s", out)
	}
	if secs, _ := strconv.ParseFloat(m[1], 64); m[2] == "s" && secs >= 25 {
		t.Fatalf("the straggler was not rescued:\n%s", out)
	}
}

// The sales example caches, broadcasts, sorts and counts with an
// accumulator: in-process and on executor processes (where the broadcast
// table is fetched from the driver), with the same answer.
func TestSales(t *testing.T) {
	bin := build(t, "sales")
	want := regexp.MustCompile(`(?s)^honey +2384\.20\ncheese +1700\.40\ndates +998\.40\n5 stores; 2 malformed lines skipped\n$`)
	if out := run(t, bin, "-top", "3", "sales/sales.csv"); !want.MatchString(stdoutOnly(out)) {
		t.Fatalf("sales in-process:\n%s", out)
	}
	cmd := exec.Command(bin, "-top", "3", "sales/sales.csv")
	confDir := t.TempDir()
	os.WriteFile(filepath.Join(confDir, "stoke-defaults.conf"), []byte("stoke.master local-cluster[2,1,1024]\nstoke.ui.enabled false\n"), 0o644)
	cmd.Env = append(os.Environ(), "STOKE_SUBMIT_CONF=", "STOKE_CONF_DIR="+confDir)
	out, err := cmd.Output()
	if err != nil || !want.MatchString(string(out)) {
		t.Fatalf("sales on local-cluster: %v\n%s", err, out)
	}
}

// stdoutOnly drops the log lines (logrus text format) of combined output.
func stdoutOnly(out string) string {
	var keep []string
	for _, l := range strings.SplitAfter(out, "\n") {
		if !strings.HasPrefix(l, "time=") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "")
}

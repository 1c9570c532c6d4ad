package simulate

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
)

func twoConfigReport(t *testing.T) *Report {
	w := specWorkload(t, busySpec, nil)
	a := run(t, w, Options{Seed: 1}, "stoke.scheduler.mode", "FIFO")
	b := run(t, w, Options{Seed: 1}, "stoke.scheduler.mode", "FAIR", "stoke.simulate.pool.adhoc.weight", "3")
	return NewReport(w, 1, []*Result{a, b})
}

func TestTextReportSideBySide(t *testing.T) {
	var b bytes.Buffer
	if err := twoConfigReport(t).WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"workload t: 11 jobs", "makespan", "slot utilization", "speculative copies (won)",
		"pool etl p50/p95/max", "pool adhoc share (fair)", "job 10 [adhoc]", "stoke.scheduler.mode FIFO",
		"avg share", "below minShare"} {
		if !strings.Contains(out, want) {
			t.Errorf("text report lacks %q:\n%s", want, out)
		}
	}
	// Two configuration columns on the mode row.
	if !regexp.MustCompile(`(?m)^mode\s+FIFO\s+FAIR\s*$`).MatchString(out) {
		t.Errorf("no side-by-side mode row:\n%s", out)
	}
}

func TestJSONReportRoundTrips(t *testing.T) {
	var b bytes.Buffer
	rep := twoConfigReport(t)
	if err := rep.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Results) != 2 || back.Results[1].Pools[1].Weight != 3 || !sameUs(back.Results[0].Makespan, rep.Results[0].Makespan) {
		t.Errorf("decoded %+v", back.Results[1].Pools)
	}
	if !sameUs(back.Results[0].Jobs[0].Duration, rep.Results[0].Jobs[0].Duration) {
		t.Errorf("job duration %v, want %v", back.Results[0].Jobs[0].Duration, rep.Results[0].Jobs[0].Duration)
	}
}

// The HTML report stands alone: no scripts, no links or images to fetch,
// one inline SVG plot per configuration.
func TestHTMLReportIsSelfContained(t *testing.T) {
	var b bytes.Buffer
	if err := twoConfigReport(t).WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if n := strings.Count(out, "<svg xmlns"); n != 2 {
		t.Errorf("%d plots, want 2", n)
	}
	if strings.Contains(out, "<script") || strings.Contains(out, "src=") || strings.Contains(out, "href=") || strings.Contains(out, "@import") {
		t.Errorf("the report refers to outside resources")
	}
	if strings.Count(out, "http") != strings.Count(out, `xmlns="http://www.w3.org/2000/svg"`) {
		t.Errorf("a URL other than the SVG namespace")
	}
	if !strings.Contains(out, "<polygon") || !strings.Contains(out, "adhoc (weight 3") {
		t.Errorf("no share areas or legend")
	}
}

// sameUs compares durations to the microsecond (JSON keeps microseconds).
func sameUs(a, b Dur) bool {
	return time.Duration(a).Round(time.Microsecond) == time.Duration(b).Round(time.Microsecond)
}

package ui

import (
	"strings"
	"testing"
	"time"
)

// The event timeline draws a bar per executor and per job on one axis,
// escapes names, links each job, and stays bounded.
func TestTimelineSVG(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 3, 0, 0, 0, time.UTC)
	app := AppInfo{ID: "app-1", StartTime: t0}
	jobs := []JobInfo{
		{ID: 0, Description: "<script>", Status: StatusSucceeded, SubmissionTime: t0.Add(time.Second), CompletionTime: t0.Add(3 * time.Second)},
		{ID: 1, Status: StatusRunning, SubmissionTime: t0.Add(4 * time.Second)},
	}
	execs := []ExecutorInfo{{ID: "1", Host: "h1", Active: true, AddTime: t0}, {ID: "2", Host: "h2", AddTime: t0, RemoveTime: t0.Add(2 * time.Second), RemoveReason: "idle"}}
	svg := string(timelineSVG(app, jobs, execs, t0.Add(10*time.Second)))
	if strings.Count(svg, `<g class="job">`) != 2 || strings.Count(svg, `<g class="executor">`) != 2 {
		t.Fatalf("bars: %s", svg)
	}
	if strings.Contains(svg, "<script>") || !strings.Contains(svg, "&lt;script&gt;") {
		t.Error("a job description is not escaped")
	}
	if !strings.Contains(svg, `href="jobs/job/?id=1"`) || !strings.Contains(svg, "removed 03:00:02: idle") {
		t.Errorf("links or removal reason missing: %s", svg)
	}
	many := make([]JobInfo, 3*maxTimelineItems)
	for i := range many {
		many[i] = JobInfo{ID: i, SubmissionTime: t0, Status: StatusSucceeded, CompletionTime: t0.Add(time.Second)}
	}
	if n := strings.Count(string(timelineSVG(app, many, nil, t0.Add(time.Minute))), `<g class="job">`); n != maxTimelineItems {
		t.Errorf("%d job bars, want the latest %d", n, maxTimelineItems)
	}
	if timelineSVG(AppInfo{}, jobs, execs, t0) != "" {
		t.Error("an application that has not started draws a timeline")
	}
}

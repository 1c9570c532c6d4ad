package progress

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stoke-run/stoke/internal/events"
)

// fakeClock is stepped by the test; nothing sleeps.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time                    { return c.t }
func (c *fakeClock) advance(d time.Duration) time.Time { c.t = c.t.Add(d); return c.t }

func newTestBar(width int) (*Bar, *bytes.Buffer, *fakeClock) {
	var buf bytes.Buffer
	c := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	return newBar(&buf, time.Second, width, c.now), &buf, c
}

func run(b *Bar, stage, n, done, active int) {
	b.OnEvent(events.StageSubmitted{StageID: stage, NumTasks: n})
	id := int64(stage * 1000)
	for range done {
		b.OnEvent(events.TaskStart{StageID: stage, TaskID: id})
		b.OnEvent(events.TaskEnd{StageID: stage, TaskID: id, Status: events.TaskSuccess})
		id++
	}
	for range active {
		b.OnEvent(events.TaskStart{StageID: stage, TaskID: id})
		id++
	}
}

func TestRenderStageMatchesReferenceExample(t *testing.T) {
	got := renderStage(3, 37, 8, 100, 80)
	want := "[Stage 3:" + strings.Repeat("=", 20) + ">" + strings.Repeat(" ", 35) + "(37 + 8) / 100]"
	if got != want || len(got) != 80 {
		t.Fatalf("got  %q (%d)\nwant %q", got, len(got), want)
	}
	if got := renderStage(1, 10, 0, 10, 30); got != "[Stage 1:=======(10 + 0) / 10]" {
		t.Fatalf("full stage: %q", got)
	}
	if got := renderStage(12, 0, 0, 5, 10); got != "[Stage 12:(0 + 0) / 5]" {
		t.Fatalf("too narrow: %q", got)
	}
}

func TestBarWaitsThenDrawsThenClears(t *testing.T) {
	b, out, c := newTestBar(80)
	run(b, 3, 100, 37, 8)
	b.render(c.advance(100 * time.Millisecond))
	if out.Len() != 0 {
		t.Fatalf("drew a stage younger than 500ms: %q", out.String())
	}
	b.render(c.advance(500 * time.Millisecond))
	want := "\r[Stage 3:" + strings.Repeat("=", 20) + ">" + strings.Repeat(" ", 35) + "(37 + 8) / 100]"
	if out.String() != want {
		t.Fatalf("got  %q\nwant %q", out.String(), want)
	}
	out.Reset()
	b.render(c.advance(200 * time.Millisecond))
	if out.Len() != 0 {
		t.Fatalf("redrew an unchanged line: %q", out.String())
	}
	b.render(c.advance(time.Minute))
	if out.String() != want {
		t.Fatalf("no keep-alive redraw after a minute: %q", out.String())
	}
	out.Reset()
	b.OnEvent(events.StageCompleted{StageID: 3})
	b.OnEvent(events.JobEnd{JobID: 0, Succeeded: true})
	if out.String() != "\r"+strings.Repeat(" ", 80)+"\r" {
		t.Fatalf("job end did not clear the line: %q", out.String())
	}
	// A new stage right after the clear waits out the quiet period.
	out.Reset()
	b.OnEvent(events.StageSubmitted{StageID: 4, NumTasks: 1})
	b.render(c.advance(499 * time.Millisecond))
	if out.Len() != 0 {
		t.Fatalf("drew within 500ms of a clear: %q", out.String())
	}
	b.render(c.advance(2 * time.Millisecond))
	if !strings.HasPrefix(out.String(), "\r[Stage 4:>") {
		t.Fatalf("stage 4: %q", out.String())
	}
}

func TestBarShowsConcurrentStagesSideBySide(t *testing.T) {
	b, out, c := newTestBar(90)
	run(b, 7, 10, 5, 2)
	run(b, 2, 4, 1, 1)
	run(b, 9, 3, 0, 3)
	run(b, 11, 3, 0, 0) // a fourth stage is not drawn
	b.render(c.advance(time.Second))
	line := strings.TrimPrefix(out.String(), "\r")
	want := renderStage(2, 1, 1, 4, 30) + renderStage(7, 5, 2, 10, 30) + renderStage(9, 0, 3, 3, 30)
	if line != want || len(line) != 90 {
		t.Fatalf("got  %q\nwant %q", line, want)
	}
	// Stages finishing without a job end: the line shrinks, then clears.
	out.Reset()
	for _, id := range []int{2, 7, 9} {
		b.OnEvent(events.StageCompleted{StageID: id})
	}
	b.render(c.advance(time.Second))
	if !strings.HasPrefix(out.String(), "\r[Stage 11:") || len(out.String()) != 91 {
		t.Fatalf("remaining stage: %q", out.String())
	}
	out.Reset()
	b.OnEvent(events.StageCompleted{StageID: 11})
	b.render(c.advance(time.Second))
	if out.String() != "\r"+strings.Repeat(" ", 90)+"\r" {
		t.Fatalf("not cleared when no stage runs: %q", out.String())
	}
}

func TestBarCountsRetriesAndKills(t *testing.T) {
	b, out, c := newTestBar(40)
	b.OnEvent(events.StageSubmitted{StageID: 1, NumTasks: 2})
	b.OnEvent(events.TaskStart{StageID: 1, TaskID: 1})
	b.OnEvent(events.TaskEnd{StageID: 1, TaskID: 1, Status: events.TaskFailed})
	b.OnEvent(events.TaskStart{StageID: 1, TaskID: 2})
	b.OnEvent(events.TaskStart{StageID: 1, TaskID: 3, Speculative: true})
	b.OnEvent(events.TaskEnd{StageID: 1, TaskID: 2, Status: events.TaskSuccess})
	b.OnEvent(events.TaskEnd{StageID: 1, TaskID: 3, Status: events.TaskKilled})
	b.render(c.advance(time.Second))
	if !strings.HasSuffix(out.String(), "(1 + 0) / 2]") {
		t.Fatalf("counts: %q", out.String())
	}
}

func TestCloseClearsAndStops(t *testing.T) {
	var buf bytes.Buffer
	b := New(&buf, time.Hour, 20)
	b.mu.Lock()
	b.shown = "[Stage 1:(0 + 0) / 1]"
	b.mu.Unlock()
	b.Close()
	b.Close()
	if !strings.HasSuffix(buf.String(), "\r") || strings.TrimSpace(buf.String()) != "" {
		t.Fatalf("Close did not clear: %q", buf.String())
	}
	b.render(time.Now().Add(time.Hour))
	if strings.TrimSpace(buf.String()) != "" {
		t.Fatal("drew after Close")
	}
}

func TestEnabled(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "not-a-terminal")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if Enabled(f) || Enabled(nil) {
		t.Fatal("a regular file is not a terminal")
	}
}

package progress

import (
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/stoke-run/stoke/internal/events"
)

const (
	// showAfter: a stage is drawn only once it has run this long, and
	// nothing is drawn this soon after the line was cleared at a job's end,
	// so short stages never flicker on the console.
	showAfter = 500 * time.Millisecond
	// keepAlive redraws an unchanged line this often (keeps SSH sessions busy).
	keepAlive = time.Minute
	// maxStages drawn side by side.
	maxStages = 3
	// DefaultInterval is the usual redraw interval.
	DefaultInterval = 200 * time.Millisecond
)

// Enabled reports whether f is a terminal, where drawing a bar makes sense.
func Enabled(f *os.File) bool { return f != nil && term.IsTerminal(int(f.Fd())) }

// Width is the terminal width from $COLUMNS, else 80.
func Width() int {
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	return 80
}

type stageKey struct{ id, attempt int }

type stage struct {
	id                int
	total             int
	completed, active int
	submitted         time.Time
}

// Bar draws the running stages on one console line, like
// [Stage 3:====>      (37 + 8) / 100]. It is an events.Listener.
type Bar struct {
	w        io.Writer
	width    int
	interval time.Duration
	now      func() time.Time

	mu        sync.Mutex
	stages    map[stageKey]*stage
	shown     string // what is on the line now ("" when clear)
	lastDraw  time.Time
	lastClear time.Time
	closed    bool

	stop chan struct{}
	done chan struct{}
}

var _ events.Listener = (*Bar)(nil)

// New starts a bar writing to w (normally os.Stderr), redrawn at most every
// interval (DefaultInterval if ≤ 0) across width columns (Width() if ≤ 0).
func New(w io.Writer, interval time.Duration, width int) *Bar {
	b := newBar(w, interval, width, time.Now)
	b.stop, b.done = make(chan struct{}), make(chan struct{})
	go b.loop()
	return b
}

// newBar builds a bar without its timer; tests call render directly.
func newBar(w io.Writer, interval time.Duration, width int, now func() time.Time) *Bar {
	if interval <= 0 {
		interval = DefaultInterval
	}
	if width <= 0 {
		width = Width()
	}
	return &Bar{w: w, width: width, interval: interval, now: now, stages: map[stageKey]*stage{}}
}

func (b *Bar) loop() {
	defer close(b.done)
	t := time.NewTicker(b.interval)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case now := <-t.C:
			b.render(now)
		}
	}
}

// OnEvent tracks stage progress. Event times are ignored: the bar measures
// "running for 500 ms" on its own clock.
func (b *Bar) OnEvent(e events.Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch e := e.(type) {
	case events.StageSubmitted:
		b.stages[stageKey{e.StageID, e.Attempt}] = &stage{id: e.StageID, total: e.NumTasks, submitted: b.now()}
	case events.StageCompleted:
		delete(b.stages, stageKey{e.StageID, e.Attempt})
	case events.TaskStart:
		if s := b.stages[stageKey{e.StageID, e.StageAttempt}]; s != nil {
			s.active++
		}
	case events.TaskEnd:
		if s := b.stages[stageKey{e.StageID, e.StageAttempt}]; s != nil {
			if s.active > 0 {
				s.active--
			}
			if e.Status == events.TaskSuccess {
				s.completed++
			}
		}
	case events.JobEnd:
		b.clearLocked(b.now())
	}
}

// render redraws the line for time now if it changed (or keepAlive passed).
func (b *Bar) render(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	if !b.lastClear.IsZero() && now.Sub(b.lastClear) < showAfter {
		return
	}
	line := b.line(now)
	if line == "" {
		if b.shown != "" {
			b.clearLocked(now)
		}
		return
	}
	if line == b.shown && now.Sub(b.lastDraw) < keepAlive {
		return
	}
	pad := ""
	if n := len(b.shown) - len(line); n > 0 {
		pad = strings.Repeat(" ", n) // wipe the tail of a longer previous line
	}
	_, _ = io.WriteString(b.w, "\r"+line+pad)
	b.shown, b.lastDraw = line, now
}

// line renders the stages that have run for showAfter, up to maxStages by
// stage id, each in an equal share of the width.
func (b *Bar) line(now time.Time) string {
	var show []*stage
	for _, s := range b.stages {
		if now.Sub(s.submitted) >= showAfter {
			show = append(show, s)
		}
	}
	if len(show) == 0 {
		return ""
	}
	sort.Slice(show, func(i, j int) bool { return show[i].id < show[j].id })
	if len(show) > maxStages {
		show = show[:maxStages]
	}
	per := b.width / len(show)
	var sb strings.Builder
	for _, s := range show {
		sb.WriteString(renderStage(s.id, min(s.completed, s.total), s.active, s.total, per))
	}
	return sb.String()
}

// renderStage is "[Stage <id>:" + bar + "(<done> + <active>) / <total>]",
// the bar filling what remains of width: '=' for done, '>' at the head.
func renderStage(id, done, active, total, width int) string {
	header := "[Stage " + strconv.Itoa(id) + ":"
	tailer := "(" + strconv.Itoa(done) + " + " + strconv.Itoa(active) + ") / " + strconv.Itoa(total) + "]"
	w := width - len(header) - len(tailer)
	var sb strings.Builder
	sb.Grow(max(width, len(header)+len(tailer)))
	sb.WriteString(header)
	if w > 0 {
		head := 0
		if total > 0 {
			head = w * done / total
		}
		for i := range w {
			switch {
			case i < head:
				sb.WriteByte('=')
			case i == head:
				sb.WriteByte('>')
			default:
				sb.WriteByte(' ')
			}
		}
	}
	sb.WriteString(tailer)
	return sb.String()
}

// clearLocked wipes the line if something is drawn.
func (b *Bar) clearLocked(now time.Time) {
	b.lastClear = now
	if b.shown == "" {
		return
	}
	_, _ = io.WriteString(b.w, "\r"+strings.Repeat(" ", len(b.shown))+"\r")
	b.shown = ""
}

// Close stops redrawing and clears the line. It is safe to call twice.
func (b *Bar) Close() {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.closed = true
	b.clearLocked(b.now())
	b.mu.Unlock()
	if b.stop != nil {
		close(b.stop)
		<-b.done
	}
}

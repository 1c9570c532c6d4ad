// Package history is the history server: it lists the applications whose
// event logs are in a directory (local or HDFS), complete and incomplete,
// and serves each one's web UI rebuilt from its log, rescanning the
// directory periodically and optionally deleting old logs.
package history

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"sort"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/stoke-run/stoke/internal/eventlog"
	"github.com/stoke-run/stoke/internal/events"
	"github.com/stoke-run/stoke/internal/fsx"
)

// Application states in the list.
const (
	StateFinished   = "finished"   // the log has its end event and the last job succeeded
	StateFailed     = "failed"     // ended with a reason (a signal, the cluster manager) or with its last job failed
	StateIncomplete = "incomplete" // still running (.inprogress), or ended without its end event
)

// Options configure a Server.
type Options struct {
	LogDir          string        // local path or hdfs://
	UpdateInterval  time.Duration // rescan period; 0: no periodic rescan
	CleanerEnabled  bool
	CleanerMaxAge   time.Duration
	CleanerInterval time.Duration
	RetainedApps    int // application UIs kept in memory (default 50)

	// Now is the clock (default time.Now), used by the cleaner and for the
	// running duration of incomplete applications.
	Now func() time.Time
	Log logrus.FieldLogger
	// Replay, if set, builds an application's "replay with other settings"
	// page from the text of its log (nil: no such page).
	Replay func(text io.Reader, name string) http.Handler
}

// App is one application of the list.
type App struct {
	ID        string
	Name      string
	User      string
	StartTime time.Time
	EndTime   time.Time // zero while incomplete
	State     string
	// EndReason is why the application ended early (from its end event).
	EndReason string
	// LogError says what is wrong with a damaged log (the events before the
	// damage are shown).
	LogError    string
	Jobs        int
	FailedJobs  int
	LastUpdated time.Time // when the log was last written
	InProgress  bool      // the log still has its .inprogress name
	Compressed  bool
	Rolling     bool // the log is a directory of parts

	path string
	size int64
	sum  summary
}

// Duration is how long the application ran (until now, or until its last
// update, for an incomplete one).
func (a App) Duration(now time.Time) time.Duration {
	if a.StartTime.IsZero() {
		return 0
	}
	end := a.EndTime
	if end.IsZero() {
		end = now
		if !a.InProgress && a.LastUpdated.After(a.StartTime) {
			end = a.LastUpdated // crashed: it ran until its last write
		}
	}
	if end.Before(a.StartTime) {
		return 0
	}
	return end.Sub(a.StartTime)
}

// summarize reads a log for the list. A plain in-progress log already read
// (prev) is read on from where the last read stopped.
func summarize(fs fsx.FS, fi fsx.FileInfo, id string, inProgress bool, prev *App) App {
	a := App{ID: id, path: fi.Path, size: fi.Size, LastUpdated: fi.ModTime, InProgress: inProgress,
		Compressed: eventlog.Compressed(fi.Path), Rolling: fi.IsDir, State: StateIncomplete}
	incremental := inProgress && !a.Compressed && !a.Rolling
	if incremental && prev != nil && prev.path == fi.Path && prev.LogError == "" && prev.sum.offset > 0 && fi.Size >= prev.sum.offset {
		s := *prev
		s.size, s.LastUpdated = fi.Size, fi.ModTime
		a = s
	} else {
		a.sum = summary{}
	}
	apply := func(e events.Event) error {
		switch e := e.(type) {
		case events.ApplicationStart:
			a.Name, a.User, a.StartTime = e.AppName, e.User, e.Time
		case events.ApplicationEnd:
			a.sum.ended, a.EndTime, a.EndReason = true, e.Time, e.Reason
		case events.JobEnd:
			a.Jobs++
			a.sum.lastFailed = !e.Succeeded
			if !e.Succeeded {
				a.FailedJobs++
			}
		}
		return nil
	}
	var err error
	if incremental {
		err = readOn(fs, &a, apply)
	} else {
		err = readLog(fs, fi.Path, apply)
	}
	// An in-progress log usually ends mid-line or mid-block: not an error.
	if err != nil && !(inProgress && eventlog.Partial(err)) {
		a.LogError = err.Error()
	}
	switch {
	case !a.sum.ended:
		a.EndTime = time.Time{}
		a.State = StateIncomplete
	case a.EndReason != "" || a.sum.lastFailed:
		a.State = StateFailed
	default:
		a.State = StateFinished
	}
	return a
}

// summary is what summarize carries from one read of a growing log to the
// next.
type summary struct {
	ended, lastFailed bool
	offset            int64 // bytes of complete lines read (plain in-progress logs)
	lines             int   // lines read
}

// readOn reads a plain log from a.sum.offset to its last complete line.
func readOn(fs fsx.FS, a *App, fn func(events.Event) error) error {
	f, err := fs.Open(a.path)
	if err != nil {
		return fmt.Errorf("opening %s: %w", a.path, err)
	}
	defer f.Close()
	if _, err := f.Seek(a.sum.offset, io.SeekStart); err != nil {
		return fmt.Errorf("reading %s: %w", a.path, err)
	}
	n, st, err := eventlog.ReadLinesKinds(f, summaryKinds, fn)
	var le *eventlog.LineError
	if errors.As(err, &le) {
		le.Line += a.sum.lines
	}
	a.sum.offset += n
	a.sum.lines += st.Lines
	return err
}

// readLog calls fn with each event of the log at p, plain or compressed.
func readLog(fs fsx.FS, p string, fn func(events.Event) error) error {
	text, err := eventlog.Open(fs, p)
	if err != nil {
		return err
	}
	defer text.Close()
	return eventlog.ReadKinds(text, summaryKinds, fn)
}

// summaryKinds are the events the list needs: the rest of a log (tasks,
// mostly) is not decoded for it.
var summaryKinds = []string{
	events.ApplicationStart{}.Kind(), events.ApplicationEnd{}.Kind(), events.JobEnd{}.Kind(),
}

// provider keeps the list of applications in sync with the directory.
type provider struct {
	fs  fsx.FS
	dir string
	log logrus.FieldLogger

	mu   sync.RWMutex
	apps map[string]*App
}

// scan lists the directory and re-reads the logs that are new or changed.
// It returns the ids whose log changed or disappeared (their cached UIs are
// stale).
func (p *provider) scan() (stale []string, err error) {
	files, err := p.fs.List(p.dir)
	if err != nil {
		return nil, fmt.Errorf("history: listing %s: %w", p.dir, err)
	}
	type found struct {
		fi         fsx.FileInfo
		inProgress bool
	}
	byID := map[string]found{}
	for _, fi := range files {
		name := path.Base(fi.Path)
		if fi.IsDir != eventlog.IsRolling(name) {
			continue
		}
		id, inProgress, ok := eventlog.AppID(name)
		if !ok || !validID(id) {
			continue
		}
		if fi.IsDir {
			// A rolling log changes as its parts do.
			parts, err := eventlog.Parts(p.fs, fi.Path)
			if err != nil {
				p.log.WithError(err).Warn("history: skipping a rolling log")
				continue
			}
			fi.Size = 0
			for _, part := range parts {
				fi.Size += part.Size
				if part.ModTime.After(fi.ModTime) {
					fi.ModTime = part.ModTime
				}
			}
		}
		// A finished log wins over a leftover in-progress one.
		if prev, dup := byID[id]; dup && !prev.inProgress {
			continue
		}
		byID[id] = found{fi, inProgress}
	}
	p.mu.RLock()
	old := p.apps
	p.mu.RUnlock()
	next := make(map[string]*App, len(byID))
	for id, f := range byID {
		if a := old[id]; a != nil && a.path == f.fi.Path && a.size == f.fi.Size && a.LastUpdated.Equal(f.fi.ModTime) {
			next[id] = a
			continue
		}
		a := summarize(p.fs, f.fi, id, f.inProgress, old[id])
		next[id] = &a
		if old[id] != nil {
			stale = append(stale, id)
		}
	}
	for id := range old {
		if next[id] == nil {
			stale = append(stale, id)
		}
	}
	p.mu.Lock()
	p.apps = next
	p.mu.Unlock()
	return stale, nil
}

// clean deletes the logs last written before cutoff and returns their ids.
func (p *provider) clean(cutoff time.Time) ([]string, error) {
	p.mu.RLock()
	var old []*App
	for _, a := range p.apps {
		if a.LastUpdated.Before(cutoff) {
			old = append(old, a)
		}
	}
	p.mu.RUnlock()
	var removed []string
	var errs []error
	for _, a := range old {
		if err := p.fs.RemoveAll(a.path); err != nil {
			errs = append(errs, fmt.Errorf("history: deleting %s: %w", a.path, err))
			continue
		}
		p.log.WithFields(logrus.Fields{"app": a.ID, "log": a.path, "lastUpdated": a.LastUpdated}).Info("history: deleted an old event log")
		removed = append(removed, a.ID)
	}
	p.mu.Lock()
	for _, id := range removed {
		delete(p.apps, id)
	}
	p.mu.Unlock()
	return removed, errors.Join(errs...)
}

func (p *provider) get(id string) (App, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	a := p.apps[id]
	if a == nil {
		return App{}, false
	}
	return *a, true
}

// list returns the applications, the most recently started first.
func (p *provider) list() []App {
	p.mu.RLock()
	out := make([]App, 0, len(p.apps))
	for _, a := range p.apps {
		out = append(out, *a)
	}
	p.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		if !out[i].StartTime.Equal(out[j].StartTime) {
			return out[i].StartTime.After(out[j].StartTime)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// maxIDLength bounds an application id taken from a URL or a file name.
const maxIDLength = 200

// validID accepts the application ids Stoke and the cluster managers make
// (letters, digits, '.', '_', '-'), and nothing that could leave the log
// directory.
func validID(id string) bool {
	if id == "" || len(id) > maxIDLength || id == "." || id == ".." {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

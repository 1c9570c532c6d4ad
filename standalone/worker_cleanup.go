package standalone

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// CleanupOptions control the removal of old work directories
// (stoke.worker.cleanup.*). Zero values take the defaults: enabled, every
// 30 minutes, for directories untouched for 7 days.
type CleanupOptions struct {
	Disabled bool
	Interval time.Duration
	TTL      time.Duration // stoke.worker.cleanup.appDataTtl
}

func (o CleanupOptions) withDefaults() CleanupOptions {
	if o.Interval <= 0 {
		o.Interval = 30 * time.Minute
	}
	if o.TTL <= 0 {
		o.TTL = 7 * 24 * time.Hour
	}
	return o
}

// cacheDirName is the binary cache under a worker's work dir.
const cacheDirName = "cache"

// workEntry is one entry of a worker's work dir (or of its binary cache).
type workEntry struct {
	Name string
	Dir  bool // a real directory (not a symbolic link to one)
	// Newest is the latest modification time of the entry and, for a
	// directory, of anything under it.
	Newest time.Time
}

// isRunDirName says whether a work dir entry is named like an
// application's or a driver's directory (the master makes these ids);
// anything else an operator keeps in the work dir is left alone.
func isRunDirName(name string) bool {
	return strings.HasPrefix(name, "app-") || strings.HasPrefix(name, "driver-")
}

// cleanupDecision picks what to delete: top-level directories (an
// application's or a driver's) that no running executor or driver uses
// and in which nothing changed for ttl, and cached binaries no running
// executor or driver uses, downloaded more than ttl ago. Names returned
// are relative to the work dir. Files and symbolic links at the top level
// and directories not named like an application's or a driver's are left
// alone.
func cleanupDecision(top, cache []workEntry, running, binaries map[string]bool, now time.Time, ttl time.Duration) []string {
	var out []string
	for _, e := range top {
		if !e.Dir || !isRunDirName(e.Name) || running[e.Name] || now.Sub(e.Newest) <= ttl {
			continue
		}
		out = append(out, e.Name)
	}
	for _, e := range cache {
		if e.Dir || binaries[e.Name] || now.Sub(e.Newest) <= ttl {
			continue
		}
		out = append(out, filepath.Join(cacheDirName, e.Name))
	}
	return out
}

// scanWorkDir lists dir's entries with their newest modification time,
// without following symbolic links.
func scanWorkDir(dir string) ([]workEntry, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := make([]workEntry, 0, len(ents))
	for _, e := range ents {
		info, err := e.Info() // lstat
		if err != nil {
			continue
		}
		we := workEntry{Name: e.Name(), Dir: e.Type().IsDir(), Newest: info.ModTime()}
		if we.Dir {
			_ = filepath.WalkDir(filepath.Join(dir, e.Name()), func(_ string, d fs.DirEntry, err error) error {
				if err != nil {
					return nil
				}
				if fi, err := d.Info(); err == nil && fi.ModTime().After(we.Newest) {
					we.Newest = fi.ModTime()
				}
				return nil
			})
		}
		out = append(out, we)
	}
	return out, nil
}

// cleanupOnce removes old work directories and cached binaries.
func (w *Worker) cleanupOnce(now time.Time) {
	top, err := scanWorkDir(w.opts.WorkDir)
	if err != nil {
		w.log.WithError(err).Warn("work dir cleanup: listing the work dir")
		return
	}
	cache, err := scanWorkDir(filepath.Join(w.opts.WorkDir, cacheDirName))
	if err != nil && !os.IsNotExist(err) {
		w.log.WithError(err).Warn("work dir cleanup: listing the binary cache")
	}
	running, binaries := map[string]bool{}, map[string]bool{}
	w.mu.Lock()
	for _, e := range w.executors {
		running[e.spec.AppID] = true
		binaries[e.spec.Binary.SHA256] = true
		for _, f := range e.spec.Files {
			binaries[f.SHA256] = true
		}
	}
	for _, d := range w.drivers {
		running[d.spec.DriverID] = true
		binaries[d.spec.Binary.SHA256] = true
	}
	w.mu.Unlock()
	if w.shuffle != nil {
		// Its executors here may all be gone while the shuffle service
		// still serves their output.
		for _, app := range w.shuffle.Apps() {
			running[app] = true
		}
	}
	for _, name := range cleanupDecision(top, cache, running, binaries, now, w.opts.Cleanup.TTL) {
		// RemoveAll removes symbolic links, never what they point to.
		if err := os.RemoveAll(filepath.Join(w.opts.WorkDir, name)); err != nil {
			w.log.WithError(err).Warnf("work dir cleanup: removing %s", name)
			continue
		}
		w.log.Infof("work dir cleanup: removed %s (unused for more than %s)", name, w.opts.Cleanup.TTL)
	}
}

// cleanupLoop runs cleanupOnce every Cleanup.Interval until the worker stops.
func (w *Worker) cleanupLoop() {
	defer w.wg.Done()
	if w.opts.Cleanup.Disabled {
		return
	}
	t := time.NewTicker(w.opts.Cleanup.Interval)
	defer t.Stop()
	for {
		select {
		case <-w.ctx.Done():
			return
		case <-t.C:
			w.cleanupOnce(time.Now())
		}
	}
}

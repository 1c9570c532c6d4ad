// Package spill writes sorted runs of records to local disk and merges them
// back, for operators whose data does not fit in execution memory.
//
// A run file is a header, a sequence of frames (one per written batch, each
// checksummed and optionally compressed) and an end marker, so truncated or
// damaged files are reported instead of read as short data.
package spill

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
)

// KeyLocalDir lists the root directories for spill files, comma-separated.
// Unset, spill files go under os.TempDir().
const KeyLocalDir = "stoke.local.dir"

// Dirs is an executor's set of private spill directories, one under each
// root. It is safe for concurrent use.
type Dirs struct {
	paths []string
	next  atomic.Uint64

	mu      sync.Mutex
	removed bool
}

// EnvLocalDirs lists, comma-separated, scratch roots that a cluster
// manager gives the executors it starts (a standalone worker, local-cluster):
// directories it removes when the executor ends, however it ends.
const EnvLocalDirs = "STOKE_LOCAL_DIRS"

// ClusterRoots returns the scratch roots the cluster manager that started
// this process gave it, and the variable they came from, in Spark's order:
// YARN's container LOCAL_DIRS (the NodeManager deletes them with the
// application), a Stoke worker's STOKE_LOCAL_DIRS, the Mesos sandbox
// (MESOS_DIRECTORY, collected by the agent). Empty when none applies.
func ClusterRoots(getenv func(string) string) (roots, from string) {
	if v := getenv("LOCAL_DIRS"); v != "" && getenv("CONTAINER_ID") != "" {
		return v, "LOCAL_DIRS"
	}
	if v := getenv(EnvLocalDirs); v != "" {
		return v, EnvLocalDirs
	}
	if v := getenv("MESOS_DIRECTORY"); v != "" {
		return v, "MESOS_DIRECTORY"
	}
	return "", ""
}

// DirsFrom creates the spill directories for executorID under the roots its
// cluster manager gave it (see ClusterRoots), which win over stoke.local.dir
// as in Spark; else under the roots listed in stoke.local.dir, as returned
// by get; else under os.TempDir().
func DirsFrom(get func(key string) (string, bool), getenv func(string) string, executorID string) (*Dirs, error) {
	from := KeyLocalDir
	v, ok := get(KeyLocalDir)
	if getenv != nil {
		if r, env := ClusterRoots(getenv); env != "" {
			v, ok, from = r, true, env
		}
	}
	if !ok {
		return NewDirs(nil, executorID)
	}
	var roots []string
	for r := range strings.SplitSeq(v, ",") {
		if r = strings.TrimSpace(r); r != "" {
			roots = append(roots, r)
		}
	}
	if len(roots) == 0 {
		return nil, fmt.Errorf("%s lists no directory (got %q); set it to comma-separated paths or unset it to use %s",
			from, v, os.TempDir())
	}
	return newDirs(roots, executorID, from)
}

// NewDirs creates one private (0700) directory named
// stoke-<executorID>-<random> under each root; with no roots, under
// os.TempDir(). Each root must be an existing, writable directory.
func NewDirs(roots []string, executorID string) (*Dirs, error) {
	return newDirs(roots, executorID, KeyLocalDir)
}

// newDirs is NewDirs with the setting the roots came from, for errors.
func newDirs(roots []string, executorID, from string) (*Dirs, error) {
	if len(roots) == 0 {
		roots = []string{os.TempDir()}
	}
	d := &Dirs{}
	seen := map[string]bool{}
	for _, root := range roots {
		clean := filepath.Clean(root)
		if seen[clean] {
			continue
		}
		seen[clean] = true
		dir, err := makeDir(root, executorID, from)
		if err != nil {
			_ = d.Remove()
			return nil, err
		}
		d.paths = append(d.paths, dir)
	}
	return d, nil
}

func makeDir(root, executorID, from string) (string, error) {
	fi, err := os.Stat(root)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "", fmt.Errorf("%s root %q does not exist; create it or remove it from the list", from, root)
	case err != nil:
		return "", fmt.Errorf("%s root %q: %v", from, root, err)
	case !fi.IsDir():
		return "", fmt.Errorf("%s root %q is not a directory", from, root)
	}
	// MkdirTemp creates the directory with mode 0700.
	dir, err := os.MkdirTemp(root, "stoke-"+safeID(executorID)+"-")
	if err != nil {
		return "", fmt.Errorf("%s root %q is not writable: %v", from, root, err)
	}
	return dir, nil
}

// safeID keeps executor ids from escaping the root or breaking file names.
func safeID(id string) string {
	if id == "" {
		return "executor"
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			return r
		}
		return '_'
	}, id)
}

// Paths returns the private directories, one per root.
func (d *Dirs) Paths() []string { return append([]string(nil), d.paths...) }

// Create creates a new spill file named <prefix>-<random> in the next
// directory, round-robin over the roots.
func (d *Dirs) Create(prefix string) (*os.File, error) {
	d.mu.Lock()
	removed := d.removed
	d.mu.Unlock()
	if removed {
		return nil, errors.New("spill directories were already removed")
	}
	dir := d.paths[(d.next.Add(1)-1)%uint64(len(d.paths))]
	f, err := os.CreateTemp(dir, safeID(prefix)+"-*")
	if err != nil {
		return nil, fmt.Errorf("creating spill file in %s: %v", dir, err)
	}
	return f, nil
}

// Remove deletes the private directories and every file in them. Later
// calls to Create fail.
func (d *Dirs) Remove() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.removed = true
	var errs []error
	for _, p := range d.paths {
		if err := os.RemoveAll(p); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

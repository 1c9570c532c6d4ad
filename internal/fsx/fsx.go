// Package fsx gives tasks and the driver one view of the file systems data
// lives on: local paths (and file://) and HDFS (hdfs://namenode:port/path,
// or hdfs:///path for fs.defaultFS from HADOOP_CONF_DIR), through
// colinmarc/hdfs.
package fsx

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"os/user"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/colinmarc/hdfs/v2"

	"github.com/colinmarc/hdfs/v2/hadoopconf"
)

// FileInfo describes one file.
type FileInfo struct {
	Path      string // full path, with its scheme for HDFS
	Size      int64
	IsDir     bool
	BlockSize int64 // HDFS block size; 0 for local files
	ModTime   time.Time
}

// FS is a file system.
type FS interface {
	Stat(p string) (FileInfo, error)
	// List returns the visible files of a directory (not starting with . or
	// _), sorted.
	List(dir string) ([]FileInfo, error)
	// ListAll returns every entry of a directory, hidden ones and
	// non-regular files too, sorted.
	ListAll(dir string) ([]FileInfo, error)
	Open(p string) (io.ReadSeekCloser, error)
	Create(p string) (io.WriteCloser, error)
	Rename(from, to string) error
	MkdirAll(dir string) error
	RemoveAll(p string) error
	// Join builds a path under dir.
	Join(dir string, elem ...string) string
}

// For returns the file system of p.
func For(p string) (FS, error) {
	if !strings.Contains(p, "://") || strings.HasPrefix(p, "file://") {
		return Local{}, nil
	}
	u, err := url.Parse(p)
	if err != nil {
		return nil, fmt.Errorf("path %q: %w", p, err)
	}
	if u.Scheme != "hdfs" {
		return nil, fmt.Errorf("path %q: unsupported scheme %q (use a local path, file:// or hdfs://)", p, u.Scheme)
	}
	return hdfsFor(u.Host)
}

// Absolute makes a local path absolute (tasks may run in another working
// directory); other paths are returned as they are.
func Absolute(p string) (string, error) {
	if strings.Contains(p, "://") && !strings.HasPrefix(p, "file://") {
		return p, nil
	}
	return filepath.Abs(localPath(p))
}

// Local is this machine's file system.
type Local struct{}

func localPath(p string) string { return strings.TrimPrefix(p, "file://") }

func (Local) Stat(p string) (FileInfo, error) {
	st, err := os.Stat(localPath(p))
	if err != nil {
		return FileInfo{}, err
	}
	return FileInfo{Path: p, Size: st.Size(), IsDir: st.IsDir(), ModTime: st.ModTime()}, nil
}

func (l Local) List(dir string) ([]FileInfo, error) { return l.list(dir, false) }

func (l Local) ListAll(dir string) ([]FileInfo, error) { return l.list(dir, true) }

func (Local) list(dir string, all bool) ([]FileInfo, error) {
	entries, err := os.ReadDir(localPath(dir))
	if err != nil {
		return nil, err
	}
	var out []FileInfo
	for _, e := range entries {
		if hidden(e.Name()) && !all {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return nil, err
		}
		if info.Mode().Type()&fs.ModeType != 0 && !info.IsDir() && !all {
			continue
		}
		out = append(out, FileInfo{Path: filepath.Join(localPath(dir), e.Name()), Size: info.Size(), IsDir: info.IsDir(), ModTime: info.ModTime()})
	}
	return out, nil
}

func (Local) Open(p string) (io.ReadSeekCloser, error) { return os.Open(localPath(p)) }
func (Local) Create(p string) (io.WriteCloser, error) {
	return os.OpenFile(localPath(p), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
}
func (Local) Rename(from, to string) error { return os.Rename(localPath(from), localPath(to)) }
func (Local) MkdirAll(dir string) error    { return os.MkdirAll(localPath(dir), 0o755) }
func (Local) RemoveAll(p string) error     { return os.RemoveAll(localPath(p)) }
func (Local) Join(dir string, elem ...string) string {
	return filepath.Join(append([]string{localPath(dir)}, elem...)...)
}

func hidden(name string) bool { return strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") }

// HDFS is one HDFS namespace.
type HDFS struct {
	client    *hdfs.Client
	prefix    string     // hdfs://authority
	addresses []string   // NameNode RPC addresses
	settings  Settings   // how our own NameNode calls authenticate
	sasl      bool       // colinmarc/hdfs's own data transfer encryption: DataNode traffic goes through dnMu
	dnMu      sync.Mutex // see lockedReader
}

func (h *HDFS) namenodes() []string { return h.addresses }

var (
	hdfsMu      sync.Mutex
	hdfsClients = map[string]*HDFS{}
)

// hdfsFor returns the (cached) client of a namenode authority; "" is
// fs.defaultFS from HADOOP_CONF_DIR.
func hdfsFor(authority string) (*HDFS, error) {
	hdfsMu.Lock()
	defer hdfsMu.Unlock()
	key := authority + "\x00" + ProxyUser() // a proxy user's connections are not the login's
	if h := hdfsClients[key]; h != nil {
		return h, nil
	}
	conf, err := hadoopconf.LoadFromEnvironment()
	if err != nil {
		return nil, fmt.Errorf("reading the Hadoop configuration (HADOOP_CONF_DIR): %w", err)
	}
	client, set, err := NewHDFSClient(conf, authority)
	if err != nil {
		return nil, err
	}
	opts := set.Client
	h := &HDFS{client: client, prefix: "hdfs://" + authority, addresses: opts.Addresses, settings: set, sasl: opts.DataTransferProtection != ""}
	hdfsClients[key] = h
	return h, nil
}

// HadoopUser is HADOOP_USER_NAME, or the current user.
func HadoopUser() string {
	if u := os.Getenv("HADOOP_USER_NAME"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "nobody"
}

func (h *HDFS) path(p string) string {
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "hdfs" {
		return p
	}
	if u.Path == "" {
		return "/"
	}
	return u.Path
}

func (h *HDFS) info(p string, st os.FileInfo) FileInfo {
	fi := FileInfo{Path: p, Size: st.Size(), IsDir: st.IsDir(), ModTime: st.ModTime()}
	if hs, ok := st.(*hdfs.FileInfo); ok {
		if sys, ok := hs.Sys().(interface{ GetBlocksize() uint64 }); ok {
			fi.BlockSize = int64(sys.GetBlocksize())
		}
	}
	return fi
}

func (h *HDFS) Stat(p string) (FileInfo, error) {
	st, err := h.client.Stat(h.path(p))
	if err != nil {
		return FileInfo{}, err
	}
	return h.info(p, st), nil
}

func (h *HDFS) List(dir string) ([]FileInfo, error) { return h.list(dir, false) }

func (h *HDFS) ListAll(dir string) ([]FileInfo, error) { return h.list(dir, true) }

func (h *HDFS) list(dir string, all bool) ([]FileInfo, error) {
	entries, err := h.client.ReadDir(h.path(dir))
	if err != nil {
		return nil, err
	}
	var out []FileInfo
	for _, e := range entries {
		if hidden(e.Name()) && !all {
			continue
		}
		out = append(out, h.info(h.Join(dir, e.Name()), e))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

func (h *HDFS) Open(p string) (io.ReadSeekCloser, error) {
	r, err := h.client.Open(h.path(p))
	if err != nil || !h.sasl {
		return r, err
	}
	return &lockedReader{r: r, mu: &h.dnMu}, nil
}

func (h *HDFS) Create(p string) (io.WriteCloser, error) {
	w, err := h.client.Create(h.path(p))
	if err != nil {
		return nil, err
	}
	if h.sasl {
		return &lockedWriter{w: &hdfsWriter{w}, mu: &h.dnMu}, nil
	}
	return &hdfsWriter{w}, nil
}

// With dfs.encrypt.data.transfer (colinmarc/hdfs's own SASL), colinmarc/hdfs v2.4 stores the NameNode's data
// encryption key in its Client without a lock each time it dials a DataNode, so DataNode
// traffic of one client is serialized (a data race otherwise; reads and writes of different
// files in parallel slots share the client).
type lockedReader struct {
	r  io.ReadSeekCloser
	mu *sync.Mutex
}

func (l *lockedReader) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Read(p)
}

func (l *lockedReader) Seek(off int64, whence int) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Seek(off, whence)
}

func (l *lockedReader) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Close()
}

type lockedWriter struct {
	w  io.WriteCloser
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Close()
}

// hdfsWriter retries Close while the NameNode has not yet seen the last
// block's replicas (the client's ErrReplicating, which is transient).
type hdfsWriter struct{ *hdfs.FileWriter }

func (w *hdfsWriter) Close() error {
	wait := 50 * time.Millisecond
	for deadline := time.Now().Add(30 * time.Second); ; {
		err := w.FileWriter.Close()
		if !hdfs.IsErrReplicating(err) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(wait)
		wait = min(2*wait, time.Second)
	}
}
func (h *HDFS) Rename(from, to string) error { return h.client.Rename(h.path(from), h.path(to)) }
func (h *HDFS) MkdirAll(dir string) error    { return h.client.MkdirAll(h.path(dir), 0o755) }
func (h *HDFS) RemoveAll(p string) error {
	err := h.client.RemoveAll(h.path(p))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}
func (h *HDFS) Join(dir string, elem ...string) string {
	u, err := url.Parse(dir)
	if err != nil || u.Scheme != "hdfs" {
		return path.Join(append([]string{dir}, elem...)...)
	}
	u.Path = path.Join(append([]string{u.Path}, elem...)...)
	return u.String()
}

package mesos_test

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mesosproto "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/internal/testutil"
	"github.com/stoke-run/stoke/mesos"
	"github.com/stoke-run/stoke/mesos/mesostest"
)

// readShipped reads the files named (comma-separated, relative to the
// task's working directory) and joins their trimmed contents; a path that
// cannot be read gives "ERR ...". It also reports a packed archive left
// behind in the sandbox.
var readShipped = stoke.RegisterMap("mesos_test.readShipped", func(paths string) string { return readPaths(paths) })

func readPaths(paths string) string {
	var parts []string
	for _, p := range strings.Split(paths, ",") {
		b, err := os.ReadFile(p)
		if err != nil {
			return "ERR " + err.Error()
		}
		parts = append(parts, strings.TrimSpace(string(b)))
	}
	if left, _ := filepath.Glob(".stoke-unpack-*"); len(left) > 0 {
		return fmt.Sprintf("ERR unpacking left %v", left)
	}
	return strings.Join(parts, ",")
}

// shipFixtures are a local file and archive, and a file and a zip archive
// served over HTTP (as a web server or object store would).
type shipFixtures struct {
	lookup, tgz string // local paths
	web         string // base URL of remote.txt and bundle.zip
	mu          sync.Mutex
	gets        map[string]int
}

func newShipFixtures(t *testing.T) *shipFixtures {
	t.Helper()
	dir := t.TempDir()
	f := &shipFixtures{lookup: filepath.Join(dir, "lookup.txt"), tgz: filepath.Join(dir, "dictionary.tar.gz"), gets: map[string]int{}}
	if err := os.WriteFile(f.lookup, []byte("from-files\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeTarGzFile(f.tgz, "words.txt", "from-archive\n"); err != nil {
		t.Fatal(err)
	}
	web := filepath.Join(dir, "web")
	os.Mkdir(web, 0o755)
	if err := os.WriteFile(filepath.Join(web, "remote.txt"), []byte("from-http\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeZipFile(filepath.Join(web, "bundle.zip"), "inner/z.txt", "from-zip\n"); err != nil {
		t.Fatal(err)
	}
	fsrv := http.FileServer(http.Dir(web))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.gets[r.URL.Path]++
		f.mu.Unlock()
		fsrv.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	f.web = srv.URL
	return f
}

func (f *shipFixtures) fetched(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gets[path]
}

func writeTarGzFile(path, name, content string) error {
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	defer out.Close()
	gz := gzip.NewWriter(out)
	tw := tar.NewWriter(gz)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content))}); err != nil {
		return err
	}
	if _, err := io.WriteString(tw, content); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

func writeZipFile(path, name, content string) error {
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	defer out.Close()
	zw := zip.NewWriter(out)
	w, err := zw.Create(name)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, content); err != nil {
		return err
	}
	return zw.Close()
}

// shippedPaths are what readShipped reads in an executor; want is what it
// must find.
const (
	shippedPaths = "lookup.txt,remote.txt,dict/words.txt,zipped/inner/z.txt"
	shippedWant  = "from-files,from-http,from-archive,from-zip"
)

// runShipped runs a job of four tasks reading the shipped files and checks
// every task found them; then it reads the Mesos state endpoints, as anyone
// who reaches the master or an agent can, and checks every one-time file
// URL there (the binary's and the local files') is already spent.
func runShipped(t *testing.T, c *mesostest.Cluster, cfg stoke.Config, f *shipFixtures) {
	t.Helper()
	cfg["stoke.ui.enabled"] = "false"
	cfg["stoke.files"] = f.lookup + "," + f.web + "/remote.txt"
	cfg["stoke.archives"] = f.tgz + "#dict, " + f.web + "/bundle.zip#zipped"
	sc, err := stoke.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Stop()
	// Both executors (stoke.cores.max, stoke.executor.instances) have
	// fetched their files once registered: no grant of theirs is pending
	// when the state is read below.
	mesostest.Eventually(t, 60*time.Second, "two executors registered", func() bool { return len(sc.Driver().Executors()) == 2 })
	ds, err := stoke.Parallelize(sc, []string{shippedPaths, shippedPaths, shippedPaths, shippedPaths}, 4)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testutil.D(2*time.Minute))
	defer cancel()
	got, err := stoke.Collect(ctx, stoke.Map(ds, readShipped))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("results %q", got)
	}
	for _, g := range got {
		if g != shippedWant {
			t.Fatalf("a task read %q, want %q", g, shippedWant)
		}
	}
	if f.fetched("/remote.txt") == 0 || f.fetched("/bundle.zip") == 0 {
		t.Fatalf("the agents' fetchers did not fetch the http:// URIs themselves: %v", f.gets)
	}
	files := 0
	for name, body := range stateSnapshot(t, c) {
		for _, u := range grantURL.FindAllString(body, -1) {
			if !strings.HasSuffix(u, "/file") {
				continue
			}
			files++
			resp, err := http.Get(u)
			if err != nil {
				continue // the driver's server may be gone: nothing served
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || strings.Contains(string(b), "from-") {
				t.Fatalf("%s shows a file URL that still serves the file: %s", name, u)
			}
		}
	}
	if files == 0 {
		t.Fatal("no one-time file URL in the state endpoints: the local files did not go through grants (control)")
	}
}

// TestFilesAndArchivesCoarse: with coarse-grained executors, a local file,
// an http:// file, a local .tar.gz and an http:// .zip (stoke.files,
// stoke.archives, #alias) are in every executor's working directory under
// their names, archives unpacked into directories; the file URLs Mesos
// shows are spent.
func TestFilesAndArchivesCoarse(t *testing.T) {
	if testing.Short() {
		t.Skip("starts executor processes")
	}
	c := testCluster(t)
	runShipped(t, c, coarseConfig(c), newShipFixtures(t))
}

// TestFilesAndArchivesFine: the same with fine-grained executors (the
// files are URIs of the per-agent executor's CommandInfo).
func TestFilesAndArchivesFine(t *testing.T) {
	if testing.Short() {
		t.Skip("starts executor processes")
	}
	c := fineCluster(t)
	runShipped(t, c, fineConfig(c), newShipFixtures(t))
}

// TestFilesAndArchivesRefused: bad stoke.files and stoke.archives are
// refused by stoke.New, with errors naming the key, before any framework
// subscribes (so nothing is launched).
func TestFilesAndArchivesRefused(t *testing.T) {
	c := mesostest.Start(t, mesostest.Options{Agents: []mesostest.AgentSpec{{CPUs: 2, MemMB: 2048}}})
	f := newShipFixtures(t)
	dir := filepath.Dir(f.lookup)
	other := filepath.Join(t.TempDir(), "lookup.txt")
	os.WriteFile(other, []byte("x"), 0o644)
	for _, tc := range []struct {
		files, archives string
		want            []string
	}{
		{files: "/nonexistent/lookup.txt", want: []string{"stoke.files", "no such file"}},
		{files: f.lookup + "#a/b", want: []string{"stoke.files", "plain file name"}},
		{files: f.lookup + "#..", want: []string{"stoke.files", "plain file name"}},
		{files: f.lookup + "," + other, want: []string{"stoke.files", "would both be", "lookup.txt"}},
		{files: f.lookup, archives: f.tgz + "#lookup.txt", want: []string{"stoke.archives", "would both be"}},
		{archives: f.lookup, want: []string{"stoke.archives", "must end in"}},
		{archives: f.web + "/remote.txt", want: []string{"stoke.archives", "must end in"}},
		{files: "s3://bucket/lookup.txt", want: []string{"stoke.files", "http:// URIs", "s3"}},
		{archives: "ftp://host/x.zip", want: []string{"stoke.archives", "hdfs:// URIs"}},
		{files: dir, want: []string{"stoke.files", "not a regular file"}},
		{files: f.lookup + "#stdout", want: []string{"stoke.files", "Stoke's own"}},
		{files: f.lookup + "#stoke-executor", want: []string{"stoke.files", "Stoke's own"}},
	} {
		cfg := coarseConfig(c)
		cfg["stoke.ui.enabled"] = "false"
		cfg["stoke.mesos.registrationTimeout"] = "2s"
		if tc.files != "" {
			cfg["stoke.files"] = tc.files
		}
		if tc.archives != "" {
			cfg["stoke.archives"] = tc.archives
		}
		sc, err := stoke.New(cfg)
		if err == nil {
			sc.Stop()
			t.Fatalf("files %q archives %q: accepted", tc.files, tc.archives)
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("files %q archives %q: error %q lacks %q", tc.files, tc.archives, err, w)
			}
		}
	}
	if fws := c.Frameworks(); len(fws) != 0 {
		t.Fatalf("a refused configuration subscribed a framework: %+v", fws)
	}
}

// shippedApp is the dispatched driver of TestFilesAndArchivesCluster: the
// shipped URIs are in its own working directory, and its executors read
// them too.
func shippedApp() int {
	const paths = "remote.txt,zipped/inner/z.txt"
	const want = "from-http,from-zip"
	// Files are there from the start; stoke.New unpacks the archives.
	if b, err := os.ReadFile("remote.txt"); err != nil || string(b) != "from-http\n" {
		fmt.Fprintf(os.Stderr, "test app: the driver's remote.txt before stoke.New: %q %v\n", b, err)
		return 8
	}
	sc, err := stoke.New(stoke.Config{"stoke.ui.enabled": "false"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "test app:", err)
		return 1
	}
	defer sc.Stop()
	if got := readPaths(paths); got != want {
		fmt.Fprintf(os.Stderr, "test app: the driver read %q, want %q\n", got, want)
		return 8
	}
	ds, _ := stoke.Parallelize(sc, []string{paths, paths}, 2)
	got, err := stoke.Collect(context.Background(), stoke.Map(ds, readShipped))
	if err != nil || len(got) != 2 {
		fmt.Fprintln(os.Stderr, "test app: job:", got, err)
		return 1
	}
	for _, g := range got {
		if g != want {
			fmt.Fprintf(os.Stderr, "test app: an executor read %q, want %q\n", g, want)
			return 9
		}
	}
	return 0
}

// TestFilesAndArchivesCluster: in cluster mode the dispatcher's driver task
// fetches the http:// file and archive into the driver's sandbox (the
// archive unpacked under its alias), and the driver's executors get them
// too; a local path, which would not exist on the driver's agent, is
// refused at submission with an error naming the key.
func TestFilesAndArchivesCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts driver and executor processes")
	}
	c := noWarnings(t, mesostest.Start(t, mesostest.Options{HeartbeatInterval: time.Second, Agents: []mesostest.AgentSpec{{CPUs: 3, MemMB: 4096}}}))
	f := newShipFixtures(t)
	cl := startDispatcher(t, c)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	sub := func(files, archives string) string {
		x := conf.New()
		for k, v := range map[string]string{"stoke.master": "mesos://dispatcher:7077", "stoke.executor.cores": "1", "stoke.cores.max": "2",
			"stoke.executor.memory": "128m", "stoke.files": files, "stoke.archives": archives} {
			x.Set(k, v, conf.SourceSubmit)
		}
		return conf.EncodeSubmit(x.All())
	}
	ctx := context.Background()
	for _, bad := range []struct{ files, archives, key, why string }{
		{f.lookup, "", "stoke.files", "cluster mode"},
		// Whether a path exists on the dispatcher's machine is not told.
		{"/nonexistent/lookup.txt", "", "stoke.files", "cluster mode"},
		{"", f.tgz + "#dict", "stoke.archives", "cluster mode"},
		{"", f.web + "/remote.txt", "stoke.archives", "must end in"},
		{f.web + "/remote.txt#a/b", "", "stoke.files", "plain file name"},
		{"s3://b/remote.txt", "", "stoke.files", "hdfs:// URIs"},
	} {
		_, err := cl.Submit(ctx, exe, mesos.DriverSubmission{Args: []string{testAppArg, "shipped"}, Conf: sub(bad.files, bad.archives), CPUs: 0.5, MemMB: 256})
		if err == nil || !strings.Contains(err.Error(), bad.key) || !strings.Contains(err.Error(), bad.why) || strings.Contains(err.Error(), "no such file") {
			t.Fatalf("submission of files %q archives %q: %v, want an error naming %s (%s)", bad.files, bad.archives, err, bad.key, bad.why)
		}
	}
	if n := len(c.Tasks()); n != 0 {
		t.Fatalf("refused submissions launched %d tasks", n)
	}
	st, err := cl.Submit(ctx, exe, mesos.DriverSubmission{Args: []string{testAppArg, "shipped"},
		Conf: sub(f.web+"/remote.txt", f.web+"/bundle.zip#zipped"), CPUs: 0.5, MemMB: 256})
	if err != nil {
		t.Fatal(err)
	}
	end := waitDriver(t, cl, st.ID, mesos.DriverFinished, mesos.DriverFailed)
	if end.State != mesos.DriverFinished {
		t.Fatalf("driver %s: %+v", st.ID, end)
	}
	// The driver's task and its two executors each fetched them.
	if n := f.fetched("/bundle.zip"); n < 2 {
		t.Fatalf("bundle.zip fetched %d times, want the driver's and its executors'", n)
	}
}

// TestAttackFilesEvilArchive: an archive whose entries climb out of its
// directory ("../", an absolute name) makes the executor fail before it
// runs anything, saying which archive in its stderr, and nothing is written
// outside the archive's directory in the sandbox (nor is the directory
// left half-unpacked).
func TestAttackFilesEvilArchive(t *testing.T) {
	if testing.Short() {
		t.Skip("starts executor processes")
	}
	c := mesostest.Start(t, mesostest.Options{HeartbeatInterval: time.Second, Agents: []mesostest.AgentSpec{{CPUs: 2, MemMB: 2048}}})
	dir := t.TempDir()
	abs := filepath.Join(t.TempDir(), "abs-escape.txt")
	evil := filepath.Join(dir, "evil.tar.gz")
	out, err := os.Create(evil)
	if err != nil {
		t.Fatal(err)
	}
	gz := gzip.NewWriter(out)
	tw := tar.NewWriter(gz)
	for _, name := range []string{"ok.txt", "../escape.txt", "../../escape.txt", abs} {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: 4})
		tw.Write([]byte("evil"))
	}
	tw.Close()
	gz.Close()
	out.Close()

	cfg := coarseConfig(c)
	cfg["stoke.ui.enabled"] = "false"
	cfg["stoke.cores.max"] = "2"
	cfg["stoke.mesos.maxAgentFailures"] = "1"
	cfg["stoke.archives"] = evil + "#dict"
	sc, err := stoke.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Stop()
	fw := sc.Backend().(*mesos.Backend).FrameworkID()
	var failed mesostest.TaskView
	mesostest.Eventually(t, 60*time.Second, "the executor failed", func() bool {
		for _, tv := range c.Tasks() {
			if tv.FrameworkID == fw && tv.State == mesosproto.TASK_FAILED {
				failed = tv
				return true
			}
		}
		return false
	})
	var stderr []byte
	mesostest.Eventually(t, 10*time.Second, "the executor's stderr names the archive", func() bool {
		stderr, _ = os.ReadFile(filepath.Join(failed.Sandbox, "stderr"))
		return strings.Contains(string(stderr), "stoke.archives: unpacking dict (evil.tar.gz)")
	})
	for _, p := range []string{filepath.Join(failed.Sandbox, "..", "escape.txt"), filepath.Join(failed.Sandbox, "..", "..", "escape.txt"), abs,
		filepath.Join(failed.Sandbox, "escape.txt"), filepath.Join(failed.Sandbox, "dict")} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s exists after the evil archive was refused (stderr: %s)", p, stderr)
		}
	}
	if len(sc.Driver().Executors()) != 0 {
		t.Fatal("an executor with a refused archive registered")
	}
}

// Package browser drives Debian's chromium (installed by
// scripts/install-test-deps.sh) from Go with chromedp over every page of a
// live application's UI, the same UI behind a path-prefix proxy, and a
// standalone master's and worker's UIs: each page loads without a console
// error or an uncaught exception, and every link on it answers 200.
// Screenshots of every page go to $STOKE_TEST_ARTIFACTS (default
// $TMPDIR/stoke-ui-screenshots); they are written, not compared.
package browser

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/sirupsen/logrus"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/internal/history"
	"github.com/stoke-run/stoke/internal/testutil"
	"github.com/stoke-run/stoke/standalone"
)

func TestMain(m *testing.M) {
	stoke.RunIfExecutor()
	os.Exit(m.Run())
}

var (
	words  = stoke.RegisterFlatMap("browser.words", func(s string) []string { return strings.Fields(s) })
	one    = stoke.RegisterMap("browser.one", func(w string) stoke.KV[string, int] { return stoke.KV[string, int]{Key: w, Value: 1} })
	sum    = stoke.RegisterReduceByKey[string, int]("browser.sum", func(a, b int) int { return a + b })
	refuse = stoke.RegisterMap("browser.refuse", func(n int) int {
		if n == 13 {
			panic("thirteen is refused")
		}
		return n
	})
	doubled = stoke.RegisterMap("browser.double", func(n int) int { return 2 * n })
	// stuck runs until the test kills its job (or a minute passes).
	stuck = stoke.RegisterMap("browser.stuck", func(n int) int { time.Sleep(time.Minute); return n })
)

// chromium finds Debian's browser.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no chromium: run scripts/install-test-deps.sh (it installs Debian's chromium)")
	return ""
}

// browser is one headless chromium for the test, recording console errors
// and uncaught exceptions of the page it shows.
type browser struct {
	ctx    context.Context
	mu     sync.Mutex
	errors []string
}

func newBrowser(t *testing.T) *browser {
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium(t)), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelA() })
	b := &browser{ctx: ctx}
	// The first Run starts the browser; it must not carry a timeout.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[int](`1`)); err != nil {
		t.Fatalf("starting %s: %v", chromium(t), err)
	}
	err := chromedp.Listen(ctx, func(ev any) {
		var msg string
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			msg = "uncaught exception: " + (&chromedp.ExceptionError{ExceptionDetails: e.ExceptionDetails}).Error()
		case *runtime.EventConsoleAPICalled:
			if e.Type != runtime.ConsoleAPICalledTypeError {
				return
			}
			var parts []string
			for _, a := range e.Args {
				parts = append(parts, string(a.Value))
			}
			msg = "console.error: " + strings.Join(parts, " ")
		default:
			return
		}
		b.mu.Lock()
		b.errors = append(b.errors, msg)
		b.mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (b *browser) takeErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.errors
	b.errors = nil
	return e
}

// visit loads u, waits for its body, and returns the page's final URL and
// its links as the browser resolved them.
func (b *browser) visit(report func(string, ...any), u, shot string) (string, []string) {
	ctx, cancel := context.WithTimeout(b.ctx, testutil.D(20*time.Second))
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(u), chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
		report("%s: %v", u, err)
		return u, nil
	}
	final, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		report("%s: %v", u, err)
		return u, nil
	}
	links, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("a[href]")).map(a =>
		typeof a.href === "string" ? a.href : new URL(a.href.baseVal, document.baseURI).href)`))
	if err != nil {
		report("%s: reading its links: %v", u, err)
	}
	if shot != "" {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(60))
		if err == nil {
			err = os.WriteFile(shot, png, 0o644)
		}
		if err != nil {
			report("screenshot of %s: %v", u, err)
		}
	}
	return final, links
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// crawl visits every page reachable from start on start's host whose path
// is under prefix, checking each for console errors and each link for a
// 200 answer. It returns the pages visited.
func crawl(t *testing.T, report func(string, ...any), b *browser, name, start, prefix, shots string) []string {
	t.Helper()
	startURL, _ := url.Parse(start)
	seen := map[string]bool{}
	checked := map[string]bool{}
	queue := []string{start}
	var pages []string
	for len(queue) > 0 && len(pages) < 150 {
		u := queue[0]
		queue = queue[1:]
		if seen[u] {
			continue
		}
		seen[u] = true
		shot := filepath.Join(shots, name+"-"+unsafeName.ReplaceAllString(strings.TrimPrefix(u, startURL.Scheme+"://"+startURL.Host), "_")+".jpg")
		final, links := b.visit(report, u, shot)
		pages = append(pages, final)
		for _, e := range b.takeErrors() {
			report("%s: %s", final, e)
		}
		for _, l := range links {
			lu, err := url.Parse(l)
			if err != nil {
				report("%s: link %q: %v", final, l, err)
				continue
			}
			lu.Fragment = ""
			l = lu.String()
			if lu.Host != startURL.Host {
				if !checked[l] {
					checked[l] = true
					checkStatus(report, final, l)
				}
				continue
			}
			if !strings.HasPrefix(lu.Path, prefix) {
				report("%s: link %s leaves %s", final, l, prefix)
				continue
			}
			if !checked[l] {
				checked[l] = true
				checkStatus(report, final, l)
			}
			if !seen[l] && isPage(lu.Path) {
				queue = append(queue, l)
			}
		}
	}
	return pages
}

// isPage says whether a link is an HTML page to crawl (not JSON or metrics,
// whose status alone is checked).
func isPage(path string) bool {
	return !strings.Contains(path, "/api/") && !strings.HasSuffix(path, "/metrics") && !strings.HasSuffix(path, "/json")
}

func checkStatus(report func(string, ...any), from, link string) {
	resp, err := http.Get(link)
	if err != nil {
		report("%s: link %s: %v", from, link, err)
		return
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		report("%s: link %s answers %s", from, link, resp.Status)
	}
}

func artifacts(t *testing.T) string {
	dir := os.Getenv("STOKE_TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "stoke-ui-screenshots")
	}
	dir = filepath.Join(dir, t.Name())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// prefixProxy serves target under prefix, stripping it, as the YARN
// ResourceManager's proxy does.
func prefixProxy(t *testing.T, target, prefix string) *httptest.Server {
	tu, _ := url.Parse(target)
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(tu)
		r.Out.URL.Path = "/" + strings.TrimPrefix(r.In.URL.Path, prefix)
		r.Out.URL.RawPath = ""
	}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, prefix) {
			http.Error(w, "outside the proxied application", http.StatusNotFound)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// runJobs gives the UI something to show: a shuffle job, a cached dataset
// used twice, and a job that fails.
func runJobs(t *testing.T, sc *stoke.Context) {
	t.Helper()
	ctx := context.Background()
	lines, err := stoke.Parallelize(sc, []string{"a b c", "a b", "a", "c c c c"}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stoke.Collect(ctx, stoke.ReduceByKey(stoke.Map(stoke.FlatMap(lines, words), one), sum, 2)); err != nil {
		t.Fatal(err)
	}
	nums, _ := stoke.Parallelize(sc, []int{1, 2, 3, 4, 5, 6, 7, 8}, 4)
	cached := stoke.Map(nums, doubled).Cache()
	for range 2 {
		if _, err := stoke.Count(ctx, cached); err != nil {
			t.Fatal(err)
		}
	}
	bad, _ := stoke.Parallelize(sc, []int{1, 13, 2}, 3)
	if _, err := stoke.Collect(ctx, stoke.Map(bad, refuse)); err == nil || !strings.Contains(err.Error(), "thirteen") {
		t.Fatalf("the failing job: %v", err)
	}
}

// Every page of a live application, directly and behind a path-prefix
// proxy (the YARN ResourceManager's shape), loads in a real browser with
// no console error, and every link answers 200.
func TestBrowserApplicationUI(t *testing.T) {
	b := newBrowser(t)
	shots := artifacts(t)
	sc, err := stoke.New(stoke.Config{"stoke.master": "local[2]", "stoke.ui.port": "0", "stoke.driver.allowMultipleContexts": "true",
		"stoke.task.maxFailures": "1", "stoke.app.name": "browser test"})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Stop()
	runJobs(t, sc)
	pages := crawl(t, t.Errorf, b, "direct", sc.UIURL()+"/", "/", shots)
	if len(pages) < 10 {
		t.Errorf("only %d pages: %v", len(pages), pages)
	}
	const prefix = "/proxy/application_1700000000000_0001/"
	proxy := prefixProxy(t, sc.UIURL(), prefix)
	proxied := crawl(t, t.Errorf, b, "proxied", proxy.URL+prefix, prefix, shots)
	if len(proxied) != len(pages) {
		t.Errorf("%d pages behind the proxy, %d direct", len(proxied), len(pages))
	}
	// The failed job's page shows its error.
	ctx, cancel := context.WithTimeout(b.ctx, testutil.D(20*time.Second))
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(sc.UIURL()+"/jobs/")); err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "thirteen is refused") {
		t.Errorf("the jobs page does not show the failed job's error:\n%s", text)
	}
	// Tables sort by a click on a column's header: the completed jobs by
	// id, then reversed.
	if err := chromedp.Do(ctx, chromedp.Navigate(sc.UIURL()+"/jobs/")); err != nil {
		t.Fatal(err)
	}
	ids := func() []string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("h2 + table")[1].rows).slice(1).map(r => r.cells[0].textContent)`))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	click := func() {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`document.querySelectorAll("h2 + table")[1].rows[0].cells[0].click()`)); err != nil {
			t.Fatal(err)
		}
	}
	click()
	up := ids()
	click()
	down := ids()
	if strings.Join(up, ",") != "0,1,2" || strings.Join(down, ",") != "2,1,0" {
		t.Errorf("sorting the completed jobs by id: %v then %v, want [0 1 2] then [2 1 0]", up, down)
	}
	// The jobs page has the event timeline: a bar per job (four) and per executor.
	bars, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`[document.querySelectorAll("svg#timeline g.job").length, document.querySelectorAll("svg#timeline g.executor").length]`))
	if err != nil || len(bars) != 2 || bars[0] != 4 || bars[1] < 1 {
		t.Errorf("the event timeline: %v job and executor bars, %v; want 4 jobs and an executor", bars, err)
	}
	// A kill button ends a running job: click it in the browser.
	nums, _ := stoke.Parallelize(sc, []int{1, 2}, 2)
	killed := make(chan error, 1)
	go func() {
		_, err := stoke.Collect(context.Background(), stoke.Map(nums, stuck))
		killed <- err
	}()
	testutil.Eventually(t, 20*time.Second, "the stuck job listed with a kill button", func() bool {
		resp, err := http.Get(sc.UIURL() + "/jobs/")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(b), `action="jobs/kill/"`)
	})
	if err := chromedp.Do(ctx, chromedp.Navigate(sc.UIURL()+"/jobs/"), chromedp.Click(chromedp.CSS("form.kill button"))); err != nil {
		t.Fatalf("clicking the kill button: %v", err)
	}
	select {
	case err := <-killed:
		if err == nil || !strings.Contains(err.Error(), "killed from the web UI") {
			t.Errorf("the killed job ended with %v", err)
		}
	case <-time.After(testutil.D(20 * time.Second)):
		t.Fatal("the kill button did not end the job")
	}
	// The form's answer sends the browser back to the jobs list; wait for
	// that navigation to end before starting another.
	testutil.Eventually(t, 20*time.Second, "back on the jobs page after the kill", func() bool {
		loc, err := chromedp.Run(ctx, chromedp.Location())
		return err == nil && loc == sc.UIURL()+"/jobs/"
	})
	if err := chromedp.Do(ctx, chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
		t.Fatal(err)
	}
	// The shuffle job's page draws its stages as a graph (two stages, one edge).
	if err := chromedp.Do(ctx, chromedp.Navigate(sc.UIURL()+"/jobs/job/?id=0")); err != nil {
		t.Fatal(err)
	}
	boxes, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`[document.querySelectorAll("svg#dag g.stage").length, document.querySelectorAll("svg#dag line").length]`))
	if err != nil || len(boxes) != 2 || boxes[0] != 2 || boxes[1] != 1 {
		t.Errorf("the job's DAG: %v stage boxes and edges, %v; want 2 boxes, 1 edge", boxes, err)
	}
}

// A standalone master's and a worker's UIs, with an application running.
func TestBrowserMasterAndWorkerUI(t *testing.T) {
	if testing.Short() {
		t.Skip("starts executor processes")
	}
	b := newBrowser(t)
	shots := artifacts(t)
	log := logrus.New()
	m, err := standalone.StartMaster(standalone.MasterOptions{Host: "127.0.0.1", Port: 0, WebUIPort: 0, SpreadOut: true,
		WorkerTimeout: 5 * time.Second, WorkDir: t.TempDir(), Log: log})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	w, err := standalone.StartWorker(standalone.WorkerOptions{Masters: []string{m.Addr()}, Host: "127.0.0.1", Cores: 2, MemoryMiB: 1024,
		WorkDir: t.TempDir(), WebUIPort: 0, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	sc, err := stoke.New(stoke.Config{"stoke.master": "stoke://" + m.Addr(), "stoke.ui.port": "0", "stoke.driver.allowMultipleContexts": "true",
		"stoke.executor.memory": "256m"})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Stop()
	nums, _ := stoke.Parallelize(sc, []int{1, 2, 3}, 3)
	if _, err := stoke.Count(context.Background(), stoke.Map(nums, doubled)); err != nil {
		t.Fatal(err)
	}
	masterPages := crawl(t, t.Errorf, b, "master", "http://"+m.UIAddr()+"/", "/", shots)
	workerPages := crawl(t, t.Errorf, b, "worker", "http://"+w.UIAddr()+"/", "/", shots)
	if len(masterPages) == 0 || len(workerPages) < 2 {
		t.Errorf("master pages %v, worker pages %v", masterPages, workerPages)
	}
}

// The control: a page with a console error, an uncaught exception and a
// broken link is caught, so a clean crawl means something.
func TestBrowserCrawlCatchesBrokenPages(t *testing.T) {
	b := newBrowser(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte(`<!DOCTYPE html><html><body><a href="ok/">ok</a><a href="gone/">gone</a><a href="/outside/">out</a>` +
				`<script>console.error("boom"); null.nothing;</script></body></html>`))
		case "/ok/":
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte(`<!DOCTYPE html><html><body>fine</body></html>`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	var problems []string
	report := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	crawl(t, report, b, "control", srv.URL+"/", "/", t.TempDir())
	all := strings.Join(problems, "\n")
	for _, want := range []string{"console.error: \"boom\"", "uncaught exception", "gone/ answers 404"} {
		if !strings.Contains(all, want) {
			t.Errorf("the crawl missed %q; it reported:\n%s", want, all)
		}
	}
}

// The history server's list and an ended application's pages, served from
// its event log, in the browser.
func TestBrowserHistoryServer(t *testing.T) {
	b := newBrowser(t)
	shots := artifacts(t)
	dir := t.TempDir()
	sc, err := stoke.New(stoke.Config{"stoke.master": "local[2]", "stoke.ui.enabled": "false", "stoke.driver.allowMultipleContexts": "true",
		"stoke.task.maxFailures": "1", "stoke.app.name": "history browser test", "stoke.eventLog.enabled": "true", "stoke.eventLog.dir": dir})
	if err != nil {
		t.Fatal(err)
	}
	runJobs(t, sc)
	sc.Stop()
	srv, err := history.New(history.Options{LogDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.Rescan(); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	pages := crawl(t, t.Errorf, b, "history", ts.URL+"/", "/", shots)
	if len(pages) < 10 {
		t.Errorf("only %d history pages: %v", len(pages), pages)
	}
}

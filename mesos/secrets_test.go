package mesos_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	mesosproto "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/internal/rpc"
	"github.com/stoke-run/stoke/internal/testutil"
	"github.com/stoke-run/stoke/mesos"
	"github.com/stoke-run/stoke/mesos/mesostest"
)

// holdSecrets is the dispatched test driver that checks the secret settings
// it redeemed (args: a file to wait for, the sha256 of its
// stoke.authenticate.secret), runs a job, and stays until the file exists.
func holdSecrets(args []string) int {
	if err := mesos.EnvFromGrant(); err != nil {
		fmt.Fprintln(os.Stderr, "test app:", err)
		return 5
	}
	entries, err := conf.DecodeSubmit(os.Getenv(conf.SubmitConfEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, "test app:", err)
		return 5
	}
	got := ""
	for _, e := range entries {
		if e.Key == "stoke.authenticate.secret" {
			sum := sha256.Sum256([]byte(e.Value))
			got = hex.EncodeToString(sum[:])
		}
	}
	if got != args[1] {
		fmt.Fprintln(os.Stderr, "test app: the redeemed settings lack the driver's secret")
		return 6
	}
	sc, err := stoke.New(stoke.Config{"stoke.ui.enabled": "false"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "test app:", err)
		return 1
	}
	defer sc.Stop()
	ds, _ := stoke.Parallelize(sc, []int{1, 2, 3}, 1)
	if got, err := stoke.Collect(context.Background(), stoke.Map(ds, identity)); err != nil || len(got) != 3 {
		fmt.Fprintln(os.Stderr, "test app: job:", got, err)
		return 1
	}
	for deadline := time.Now().Add(testutil.D(2 * time.Minute)); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(args[0]); err == nil {
			return 0
		}
	}
	return 7
}

// stateSnapshot is every state endpoint of the stand-in, as an attacker who
// can reach the master and agents reads them (no authentication, as
// Mesos's defaults).
func stateSnapshot(t *testing.T, c *mesostest.Cluster) map[string]string {
	t.Helper()
	out := map[string]string{}
	get := func(name, method, url, body string) {
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %s", name, resp.Status)
		}
		out[name] = string(b)
	}
	m := c.Leader().URL()
	get("master /master/state", "GET", m+"/master/state", "")
	get("master /master/frameworks", "GET", m+"/master/frameworks", "")
	for i, a := range c.Agents() {
		u := "http://" + a.Endpoint()
		get(fmt.Sprintf("agent %d /state", i), "GET", u+"/state", "")
		get(fmt.Sprintf("agent %d /slave(1)/state", i), "GET", u+"/slave(1)/state", "")
		get(fmt.Sprintf("agent %d GET_EXECUTORS", i), "POST", u+"/api/v1", `{"type":"GET_EXECUTORS"}`)
	}
	return out
}

var grantURL = regexp.MustCompile(`http://[0-9.:]+/(?:b|g|v1/binaries/[^/"\s]+|v1/grants)/[0-9a-zA-Z_-]{16,}(?:/[^"\s\\]*)?`)

// TestAttackMesosStateHasNoSecret runs a coarse-grained job, a fine-grained
// job and a dispatched cluster-mode driver on the stand-in, and reads every
// state endpoint while they run, as anyone who reaches the master or an
// agent can: no application, driver, dispatcher or framework secret is
// there, and every capability URL there (the binary's, the secrets' grant)
// is already spent. The endpoints do show the processes' environments (a
// positive control), and no process's command line holds a secret.
func TestAttackMesosStateHasNoSecret(t *testing.T) {
	if testing.Short() {
		t.Skip("starts executor and driver processes")
	}
	const principal = "stoke-fw"
	fwSecret := "fw-" + rpc.NewSecret()
	appSecret := "app-" + rpc.NewSecret()
	driverSecret := "drv-" + rpc.NewSecret()
	dispatcherSecret := "disp-" + rpc.NewSecret()
	secrets := map[string]string{"framework secret": fwSecret, "application secret": appSecret,
		"dispatched driver's secret": driverSecret, "dispatcher (cluster) secret": dispatcherSecret}

	c := mesostest.Start(t, mesostest.Options{
		HeartbeatInterval: time.Second,
		Credentials:       map[string]string{principal: fwSecret},
		Agents:            []mesostest.AgentSpec{{CPUs: 4, MemMB: 4096}, {CPUs: 4, MemMB: 4096}},
	})
	auth := func(cfg stoke.Config) stoke.Config {
		cfg["stoke.master"] = c.Leader().MesosURL()
		cfg["stoke.mesos.principal"] = principal
		cfg["stoke.mesos.secret"] = fwSecret
		cfg["stoke.authenticate.secret"] = appSecret
		cfg["stoke.ui.enabled"] = "false"
		cfg["stoke.driver.allowMultipleContexts"] = "true"
		return cfg
	}
	coarse := auth(stoke.Config{"stoke.executor.cores": "1", "stoke.executor.memory": "256m", "stoke.cores.max": "2",
		"stoke.mesos.declineOfferDuration": "1s"})
	fine := auth(stoke.Config{"stoke.executor.memory": "256m", "stoke.mesos.declineOfferDuration": "1s",
		"stoke.mesos.coarse": "false", "stoke.executor.instances": "1", "stoke.mesos.mesosExecutor.cores": "1"})
	fine["stoke.app.name"] = "fine"

	ctx := context.Background()
	var contexts []*stoke.Context
	for _, cfg := range []stoke.Config{coarse, fine} {
		sc, err := stoke.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		contexts = append(contexts, sc)
		t.Cleanup(func() { sc.Stop() })
		ds, _ := stoke.Parallelize(sc, []int{1, 2, 3, 4}, 2)
		if got, err := stoke.Collect(ctx, stoke.Map(ds, identity)); err != nil || len(got) != 4 {
			t.Fatalf("job: %v %v", got, err)
		}
	}

	// A cluster-mode driver, submitted with its own secret settings.
	d, err := mesos.StartDispatcher(ctx, mesos.DispatcherOptions{
		Master: c.Leader().MesosURL(), Host: "127.0.0.1", WorkDir: t.TempDir(), Secret: dispatcherSecret,
		Conf: func() *conf.Conf {
			x := conf.New()
			x.Set("stoke.mesos.principal", principal, conf.SourceCode)
			x.Set("stoke.mesos.secret", fwSecret, conf.SourceCode)
			return x
		}(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Stop)
	cl := &mesos.DispatcherClient{Addr: d.Address(), Secret: dispatcherSecret}
	sub := conf.New()
	for k, v := range map[string]string{"stoke.master": "mesos://dispatcher:7077", "stoke.executor.cores": "1", "stoke.cores.max": "1",
		"stoke.executor.memory": "128m", "stoke.mesos.principal": principal, "stoke.mesos.secret": fwSecret,
		"stoke.authenticate.secret": driverSecret, "stoke.ui.enabled": "false"} {
		sub.Set(k, v, conf.SourceSubmit)
	}
	release := filepath.Join(t.TempDir(), "release")
	sum := sha256.Sum256([]byte(driverSecret))
	exe, _ := os.Executable()
	st, err := cl.Submit(ctx, exe, mesos.DriverSubmission{Args: []string{testAppArg, "holdsecrets", release, hex.EncodeToString(sum[:])},
		Conf: conf.EncodeSubmit(sub.All()), CPUs: 0.5, MemMB: 256})
	if err != nil {
		t.Fatal(err)
	}
	// Running, and its job's executor registered: three Stoke frameworks
	// besides the dispatcher, each with a running executor task.
	testutil.Eventually(t, 60*time.Second, "the dispatched driver's executor running", func() bool {
		if s, err := cl.Status(ctx, st.ID); err != nil || s.State == mesos.DriverFailed || s.State == mesos.DriverFinished {
			t.Fatalf("dispatched driver: %+v %v", s, err)
		}
		n := 0
		for _, v := range c.Tasks() {
			if v.State == mesosproto.TASK_RUNNING && strings.HasPrefix(v.TaskID, "driver-") {
				n++
			}
		}
		fws := 0
		for _, f := range c.Frameworks() {
			if f.Connected {
				fws++
			}
		}
		return n == 1 && fws == 4 && strings.Count(stateSnapshot(t, c)["master /master/state"], `"state":"TASK_RUNNING"`) >= 4
	})
	snap := stateSnapshot(t, c)
	all := strings.Join(func() []string {
		var v []string
		for _, s := range snap {
			v = append(v, s)
		}
		return v
	}(), "\n")

	// Positive control: the endpoints do show processes' environments.
	for _, want := range []string{mesos.EnvFine, "STOKE_EXECUTOR_ID", mesos.EnvGrant, conf.SubmitConfEnv, "stoke.executor.memory"} {
		if !strings.Contains(all, want) {
			t.Errorf("positive control: no endpoint shows %s; the state endpoints do not show environments, so this test proves nothing", want)
		}
	}
	if !strings.Contains(snap["master /master/state"], mesos.EnvFine) {
		t.Errorf("positive control: /master/state does not show the fine-grained executor's environment")
	}

	for what, s := range secrets {
		for _, enc := range []string{s, base64.StdEncoding.EncodeToString([]byte(s)), base64.URLEncoding.EncodeToString([]byte(s))} {
			for name, body := range snap {
				if strings.Contains(body, enc) {
					t.Errorf("%s shows the %s", name, what)
				}
			}
		}
	}

	// Every capability URL the endpoints show is spent.
	urls := map[string]bool{}
	for _, u := range grantURL.FindAllString(all, -1) {
		urls[u] = true
	}
	var binaries, grants int
	for u := range urls {
		method := "GET"
		if strings.Contains(u, "/g/") || strings.Contains(u, "/v1/grants/") {
			method, grants = "POST", grants+1
		} else {
			binaries++
		}
		// Spent once the process started; the driver's own job has run, so
		// every process whose URL is shown started (a process still
		// starting would make this wait, not pass).
		testutil.Eventually(t, 30*time.Second, "the capability URL "+u+" spent", func() bool {
			req, _ := http.NewRequest(method, u, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusNotFound
		})
	}
	// coarse (1+) and fine (1) executors and the driver's own executor, plus
	// the driver task: each shows one binary URL and one grant.
	if binaries < 4 || grants < 4 {
		t.Errorf("found %d binary and %d grant URLs on the endpoints, want at least 4 each: the URL pattern missed them", binaries, grants)
	}

	// No process's command line holds a secret, and the executors' and
	// driver's own environments never held one.
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	seen := 0
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		cmd := string(b)
		if strings.Contains(cmd, "stoke-executor") || strings.Contains(cmd, "stoke-app") {
			seen++
			env, _ := os.ReadFile(filepath.Join(filepath.Dir(p), "environ"))
			for what, s := range secrets {
				if strings.Contains(string(env), s) {
					t.Errorf("process %s started with the %s in its environment", filepath.Dir(p), what)
				}
			}
		}
		for what, s := range secrets {
			if strings.Contains(cmd, s) {
				t.Errorf("process %s has the %s in its command line", filepath.Dir(p), what)
			}
		}
	}
	if seen < 4 {
		t.Errorf("found %d executor and driver processes under /proc, want at least 4", seen)
	}

	if err := os.WriteFile(release, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if s := waitDriver(t, cl, st.ID, mesos.DriverFinished, mesos.DriverFailed); s.State != mesos.DriverFinished {
		t.Fatalf("dispatched driver: %+v (it checks the secret it redeemed)", s)
	}
	for _, sc := range contexts {
		sc.Stop()
	}
}

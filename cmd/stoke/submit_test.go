package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/internal/testutil"
)

// Binaries built once by TestMain: the test application and stoke itself.
var (
	printApp string
	stokeBin string
	buildErr error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "stoke-cli-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	printApp = filepath.Join(dir, "printapp")
	stokeBin = filepath.Join(dir, "stoke")
	buildErr = goBuild(printApp, "./testdata/printapp")
	if buildErr == nil {
		buildErr = goBuild(stokeBin, ".")
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func goBuild(out, pkg string) error {
	gobin, err := exec.LookPath("go")
	if err != nil {
		return err
	}
	cmd := exec.Command(gobin, "build", "-o", out, pkg)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

func needBinaries(t *testing.T) {
	t.Helper()
	if buildErr != nil {
		t.Skipf("cannot build test binaries: %v", buildErr)
	}
}

// isolate gives the test an empty STOKE_CONF_DIR and no hand-off variable.
func isolate(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv(conf.ConfDirEnv, dir)
	t.Setenv(conf.SubmitConfEnv, "")
	os.Unsetenv(conf.SubmitConfEnv)
	return dir
}

func writeFile(t *testing.T, path, text string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), mode); err != nil {
		t.Fatal(err)
	}
}

func resolveArgs(t *testing.T, argv ...string) (*submitPlan, error) {
	t.Helper()
	o, rest, err := parseSubmitArgs(argv)
	if err != nil {
		t.Fatalf("parseSubmitArgs(%q): %v", argv, err)
	}
	return resolveSubmit(o, rest)
}

func TestResolveSubmitPrecedence(t *testing.T) {
	needBinaries(t)
	dir := isolate(t)
	writeFile(t, filepath.Join(dir, conf.PropertiesFileName),
		"stoke.app.name fromfile\nstoke.executor.memory 512m\nstoke.log.level debug\nstoke.executor.cores 2\n", 0o644)

	p, err := resolveArgs(t,
		"--conf", "stoke.executor.memory=2g",
		"--conf", "stoke.log.level=warn",
		"-c", "stoke.app.name=fromconf",
		"--name", "fromflag",
		"--master", "local[3]",
		"--queue", "etl",
		printApp, "--master", "not-mine", "x")
	if err != nil {
		t.Fatal(err)
	}
	c := p.conf
	for _, want := range []conf.Entry{
		{Key: "stoke.app.name", Value: "fromflag", Source: conf.SourceSubmit},
		{Key: "stoke.executor.memory", Value: "2g", Source: conf.SourceConfFlag},
		{Key: "stoke.log.level", Value: "warn", Source: conf.SourceConfFlag},
		{Key: "stoke.executor.cores", Value: "2", Source: conf.SourcePropertiesFile},
		{Key: "stoke.master", Value: "local[3]", Source: conf.SourceSubmit},
		{Key: "stoke.yarn.queue", Value: "etl", Source: conf.SourceSubmit},
		{Key: "stoke.task.maxFailures", Value: "4", Source: conf.SourceDefault},
	} {
		got := conf.Entry{Key: want.Key, Value: c.String(want.Key), Source: c.SourceOf(want.Key)}
		if got != want {
			t.Errorf("%s = %+v, want %+v", want.Key, got, want)
		}
	}
	if p.master.Kind != conf.Local || p.master.Slots != 3 || p.deployMode != "client" {
		t.Errorf("master %+v, deploy mode %q", p.master, p.deployMode)
	}
	if p.binary != printApp || strings.Join(p.args, " ") != "--master not-mine x" {
		t.Errorf("binary %q args %q", p.binary, p.args)
	}
	if p.propertiesFile != filepath.Join(dir, conf.PropertiesFileName) {
		t.Errorf("properties file %q", p.propertiesFile)
	}
}

func TestResolveSubmitFlagsMapToKeys(t *testing.T) {
	needBinaries(t)
	isolate(t)
	p, err := resolveArgs(t,
		"--master", "yarn", "--deploy-mode", "client", "--name", "n",
		"--executor-memory", "3g", "--executor-cores", "4", "--num-executors", "5",
		"--total-executor-cores", "20", "--driver-memory", "2g", "--queue", "q", "--supervise",
		printApp)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"stoke.master": "yarn", "stoke.submit.deployMode": "client", "stoke.app.name": "n",
		"stoke.executor.memory": "3g", "stoke.executor.cores": "4", "stoke.executor.instances": "5",
		"stoke.cores.max": "20", "stoke.driver.memory": "2g", "stoke.yarn.queue": "q",
		"stoke.driver.supervise": "true",
	}
	all := p.conf.All()
	if len(all) != len(want) {
		t.Errorf("set %d keys, want %d: %v", len(all), len(want), all)
	}
	for _, e := range all {
		if want[e.Key] != e.Value || e.Source != conf.SourceSubmit {
			t.Errorf("%s = %q (%s)", e.Key, e.Value, e.Source)
		}
	}
	if len(p.warnings) != 1 || !strings.Contains(p.warnings[0], "supervise applies only to cluster deploy mode") {
		t.Errorf("warnings = %q", p.warnings)
	}
}

func TestResolveSubmitExplicitPropertiesFile(t *testing.T) {
	needBinaries(t)
	dir := isolate(t)
	writeFile(t, filepath.Join(dir, conf.PropertiesFileName), "stoke.app.name default-file\n", 0o644)
	other := filepath.Join(t.TempDir(), "mine.conf")
	writeFile(t, other, "stoke.app.name explicit-file\n", 0o644)
	p, err := resolveArgs(t, "--properties-file", other, printApp)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.conf.String("stoke.app.name"); got != "explicit-file" {
		t.Errorf("app name %q: the explicit file must replace the default one", got)
	}
	_, err = resolveArgs(t, "--properties-file", filepath.Join(dir, "missing.conf"), printApp)
	if err == nil || !strings.Contains(err.Error(), "missing.conf") {
		t.Errorf("missing explicit properties file: %v", err)
	}
	writeFile(t, other, "stoke.app.name ok\nstoke.master\n", 0o644)
	_, err = resolveArgs(t, "--properties-file", other, printApp)
	if err == nil || !strings.Contains(err.Error(), other+":2:") {
		t.Errorf("bad properties file: %v", err)
	}
}

func TestResolveSubmitErrors(t *testing.T) {
	needBinaries(t)
	dir := isolate(t)
	notExec := filepath.Join(dir, "notexec")
	writeFile(t, notExec, "#!/bin/sh\n", 0o644)

	for _, tc := range []struct {
		argv []string
		want string
	}{
		{[]string{}, "missing the application binary"},
		{[]string{"--conf", "stoke.master", printApp}, `--conf "stoke.master": expected key=value`},
		{[]string{"--conf", "=local", printApp}, `--conf "=local": empty key`},
		{[]string{"--master", "local[0]", printApp}, `invalid value "local[0]" for stoke.master`},
		{[]string{"--master", "spark://h:7077", printApp}, `invalid value "spark://h:7077" for stoke.master: cannot parse master URL "spark://h:7077": the standalone master scheme is stoke://, not spark://; accepted forms: local`},
		{[]string{"--executor-cores", "many", printApp}, `invalid value "many" for stoke.executor.cores: not an integer`},
		{[]string{"--executor-memory", "1.5g", printApp}, `invalid value "1.5g" for stoke.executor.memory`},
		{[]string{"--deploy-mode", "remote", printApp}, `invalid value "remote" for stoke.submit.deployMode`},
		{[]string{"--conf", "stoke.task.maxFailures=abc", "--conf", "stoke.speculation=maybe", printApp}, `invalid value "maybe" for stoke.speculation`},
		{[]string{"--deploy-mode", "cluster", printApp}, "cluster deploy mode is not supported for local masters"},
		{[]string{"--deploy-mode", "cluster", "--master", "local-cluster[2,1,512]", printApp}, "cluster deploy mode is not supported for local masters"},
		{[]string{filepath.Join(dir, "nope")}, "does not exist"},
		{[]string{"no-such-binary-anywhere-xyz"}, "not found in the current directory or on PATH"},
		{[]string{dir}, "is a directory"},
		{[]string{notExec}, "is not executable"},
	} {
		_, err := resolveArgs(t, tc.argv...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error = %v; want %q", tc.argv, err, tc.want)
		}
	}
	// All bad values are reported at once.
	_, err := resolveArgs(t, "--conf", "stoke.task.maxFailures=abc", "--conf", "stoke.speculation=maybe", printApp)
	if err == nil || !strings.Contains(err.Error(), "maxFailures") || !strings.Contains(err.Error(), "stoke.speculation") {
		t.Errorf("want both errors: %v", err)
	}
}

func TestResolveSubmitWarnsUnknownKeys(t *testing.T) {
	needBinaries(t)
	isolate(t)
	p, err := resolveArgs(t, "--conf", "stoke.executor.memroy=2g", "--conf", "app.own=1", printApp)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.warnings) != 1 || !strings.Contains(p.warnings[0], "did you mean stoke.executor.memory?") {
		t.Errorf("warnings = %q", p.warnings)
	}
	if v, _ := p.conf.Get("app.own"); v != "1" {
		t.Error("non-stoke --conf keys must be passed on to the application")
	}
}

func TestParseConfFlag(t *testing.T) {
	for in, want := range map[string][2]string{
		"a=b":            {"a", "b"},
		"a=b=c":          {"a", "b=c"},
		" stoke.x =y z ": {"stoke.x", "y z "},
		"a=":             {"a", ""},
	} {
		k, v, err := parseConfFlag(in)
		if err != nil || k != want[0] || v != want[1] {
			t.Errorf("parseConfFlag(%q) = %q, %q, %v", in, k, v, err)
		}
	}
}

// TestMesosClusterModeNeedsADispatcher: cluster mode on Mesos submits to a
// dispatcher; a ZooKeeper URL (a Mesos master) is refused clearly and an
// unreachable dispatcher is named in the error.
func TestMesosClusterModeNeedsADispatcher(t *testing.T) {
	needBinaries(t)
	isolate(t)
	for _, tc := range []struct{ master, want string }{
		{"mesos://zk://zk1:2181/mesos", "submits to a dispatcher"},
		{"mesos://127.0.0.1:1", "Mesos dispatcher 127.0.0.1:1"},
	} {
		var out, errb bytes.Buffer
		code := Execute([]string{"submit", "--master", tc.master, "--deploy-mode", "cluster", printApp}, nil, &out, &errb)
		if code != 1 || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%s: exit %d, stderr %q", tc.master, code, errb.String())
		}
		if out.Len() != 0 {
			t.Errorf("%s: the application ran: %q", tc.master, out.String())
		}
	}
}

// TestYARNWithoutHadoopConf: yarn needs HADOOP_CONF_DIR, in cluster mode and for --status
// and --kill; the error says so and nothing runs.
func TestYARNWithoutHadoopConf(t *testing.T) {
	needBinaries(t)
	isolate(t)
	t.Setenv("HADOOP_CONF_DIR", "")
	t.Setenv("YARN_CONF_DIR", "")
	for _, argv := range [][]string{
		{"submit", "--master", "yarn", "--deploy-mode", "cluster", printApp},
		{"submit", "--master", "yarn", "--status", "application_1700000000000_0001"},
		{"submit", "--master", "yarn", "--kill", "application_1700000000000_0001"},
	} {
		var out, errb bytes.Buffer
		code := Execute(argv, nil, &out, &errb)
		if code != 1 || !strings.Contains(errb.String(), "HADOOP_CONF_DIR") || out.Len() != 0 {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", argv, code, out.String(), errb.String())
		}
	}
}

func TestClusterSubmitterHook(t *testing.T) {
	needBinaries(t)
	isolate(t)
	old := clusterSubmitters[conf.YARN]
	defer func() { clusterSubmitters[conf.YARN] = old }()
	var got clusterRequest
	clusterSubmitters[conf.YARN] = func(_ context.Context, req clusterRequest) (int, error) {
		got = req
		return 7, nil
	}
	var out, errb bytes.Buffer
	code := Execute([]string{"submit", "--master", "yarn", "--deploy-mode", "cluster", "--queue", "q", printApp, "a1"}, nil, &out, &errb)
	if code != 7 {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	if got.Binary != printApp || len(got.Args) != 1 || got.Master.Kind != conf.YARN || got.Conf.String("stoke.yarn.queue") != "q" {
		t.Errorf("request %+v", got)
	}
	entries, err := conf.DecodeSubmit(got.HandOff())
	if err != nil || len(entries) != 3 {
		t.Errorf("hand-off %v, %v", entries, err)
	}
}

// runOutput is what printapp printed.
type runOutput struct {
	conf []conf.Entry
	args []string
}

func parseRun(t *testing.T, stdout string) runOutput {
	t.Helper()
	var r runOutput
	for _, line := range strings.Split(stdout, "\n") {
		switch {
		case strings.HasPrefix(line, "CONF="):
			var err error
			if r.conf, err = conf.DecodeSubmit(strings.TrimPrefix(line, "CONF=")); err != nil {
				t.Fatalf("application got a bad hand-off: %v", err)
			}
		case strings.HasPrefix(line, "ARGS="):
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "ARGS=")), &r.args); err != nil {
				t.Fatal(err)
			}
		}
	}
	return r
}

func TestSubmitRunsApplication(t *testing.T) {
	needBinaries(t)
	dir := isolate(t)
	writeFile(t, filepath.Join(dir, conf.PropertiesFileName), "stoke.app.name fromfile\nstoke.log.level debug\nstoke.authenticate.secret hunter2\n", 0o644)
	t.Setenv(conf.SubmitConfEnv, "stale value from an outer submit")

	var out, errb bytes.Buffer
	code := Execute([]string{"submit", "--verbose", "--master", "local[2]", "--conf", "stoke.log.level=warn",
		"--conf", "stoke.unknwon=1", printApp, "--name", "app-arg", "with space"}, nil, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errb.String())
	}
	r := parseRun(t, out.String())
	if strings.Join(r.args, "|") != "--name|app-arg|with space" {
		t.Errorf("application args %q", r.args)
	}
	got := map[string]conf.Entry{}
	for _, e := range r.conf {
		got[e.Key] = e
	}
	for _, want := range []conf.Entry{
		{Key: "stoke.app.name", Value: "fromfile", Source: conf.SourcePropertiesFile},
		{Key: "stoke.log.level", Value: "warn", Source: conf.SourceConfFlag},
		{Key: "stoke.master", Value: "local[2]", Source: conf.SourceSubmit},
		{Key: "stoke.authenticate.secret", Value: "hunter2", Source: conf.SourcePropertiesFile},
	} {
		if got[want.Key] != want {
			t.Errorf("hand-off %s = %+v, want %+v", want.Key, got[want.Key], want)
		}
	}
	stderr := errb.String()
	for _, want := range []string{
		"stoke: warning: unknown configuration key stoke.unknwon",
		"stoke.log.level", "warn", "(--conf)",
		"stoke.master", "(stoke submit flag)",
		"stoke.app.name", "(properties file)",
		"stoke.authenticate.secret", conf.RedactedValue,
		"Application command: " + printApp + ` --name app-arg "with space"`,
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "hunter2") {
		t.Errorf("--verbose printed a secret:\n%s", stderr)
	}

	// The application sees what conf.Resolve would resolve from it.
	t.Setenv(conf.SubmitConfEnv, conf.EncodeSubmit(r.conf))
	c, warns, err := conf.Resolve(map[string]string{"stoke.app.name": "fromcode"})
	if err != nil || len(warns) != 0 {
		t.Fatalf("Resolve: %v %v", warns, err)
	}
	if c.String("stoke.app.name") != "fromcode" || c.String("stoke.log.level") != "warn" || c.String("stoke.master") != "local[2]" {
		t.Errorf("resolved in the application: %v", c.All())
	}
}

func TestSubmitExitCode(t *testing.T) {
	needBinaries(t)
	isolate(t)
	for _, n := range []int{0, 1, 3, 99} {
		var out, errb bytes.Buffer
		code := Execute([]string{"submit", printApp, fmt.Sprintf("exit=%d", n)}, nil, &out, &errb)
		if code != n {
			t.Errorf("application exit %d: stoke exit %d (stderr %q)", n, code, errb.String())
		}
		if strings.Contains(errb.String(), "exit status") {
			t.Errorf("stoke must not add its own message to the application's failure: %q", errb.String())
		}
	}
}

func TestSubmitBadInputExitCodes(t *testing.T) {
	needBinaries(t)
	isolate(t)
	for _, tc := range []struct {
		argv []string
		code int
		want string
	}{
		{[]string{"submit"}, 2, "missing the application binary"},
		{[]string{"submit", "--bogus", printApp}, 2, "unknown flag: --bogus"},
		{[]string{"submit", "--master", "nowhere", printApp}, 1, `cannot parse master URL "nowhere"`},
		{[]string{"submit", "--conf", "novalue", printApp}, 1, `--conf "novalue": expected key=value`},
		{[]string{"submit", "/no/such/app"}, 1, `application binary "/no/such/app" does not exist`},
	} {
		var out, errb bytes.Buffer
		code := Execute(tc.argv, nil, &out, &errb)
		if code != tc.code || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want exit %d and %q", tc.argv, code, errb.String(), tc.code, tc.want)
		}
	}
}

// TestSubmitForwardsSignals runs the real stoke binary: a SIGTERM to stoke
// reaches the application, and stoke exits with the application's code.
func TestSubmitForwardsSignals(t *testing.T) {
	needBinaries(t)
	isolate(t)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		cmd := exec.Command(stokeBin, "submit", printApp, "wait-signal")
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var errb bytes.Buffer
		cmd.Stderr = &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(stdout)
		ready := false
		for lines.Scan() {
			if lines.Text() == "READY" {
				ready = true
				break
			}
		}
		if !ready {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("application never became ready; stderr %q", errb.String())
		}
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		var rest strings.Builder
		for lines.Scan() {
			rest.WriteString(lines.Text() + "\n")
		}
		waited := make(chan error, 1)
		go func() { waited <- cmd.Wait() }()
		select {
		case <-waited:
		case <-time.After(testutil.D(20 * time.Second)):
			cmd.Process.Kill()
			t.Fatalf("stoke did not exit after %v", sig)
		}
		if code := cmd.ProcessState.ExitCode(); code != 42 {
			t.Errorf("%v: stoke exit %d, want the application's 42; stderr %q", sig, code, errb.String())
		}
		if !strings.Contains(rest.String(), "GOT "+sig.String()) {
			t.Errorf("%v: application output %q", sig, rest.String())
		}
	}
}

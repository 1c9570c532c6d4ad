package hadooptest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stoke-run/stoke/internal/hadoop/hconf"
	"github.com/stoke-run/stoke/internal/hadoop/krb/krbtest"
)

// Environment variables that steer the harness.
const (
	// EnvSkip, set to 1, skips tests that need the harness instead of failing them.
	EnvSkip = "STOKE_SKIP_HADOOP"
	// EnvHarnessDir overrides the location of the Maven project.
	EnvHarnessDir = "STOKE_HADOOP_HARNESS_DIR"
	// EnvStartTimeout overrides the ready-line timeout (a Go duration); default 5m.
	EnvStartTimeout = "STOKE_HADOOP_START_TIMEOUT"
	// EnvExternal names the conf directory of a running cluster (for example
	// the docker-compose yarn profile's deploy/hadoop-conf) to test against
	// instead of starting the harness.
	EnvExternal = "STOKE_HADOOP_EXTERNAL_CONF_DIR"
)

// Cluster is a running harness.
type Cluster struct {
	ConfDir          string        // HADOOP_CONF_DIR with core-site.xml, hdfs-site.xml, yarn-site.xml
	WorkDir          string        // harness data (HDFS blocks, YARN dirs, logs)
	FS               string        // fs.defaultFS, hdfs://host:port
	SecondFS         string        // Options.SecondHDFS: hdfs://host:port of another HDFS, not in ConfDir
	NameNode         string        // host:port of the NameNode RPC server
	RM               string        // yarn.resourcemanager.address
	Scheduler        string        // yarn.resourcemanager.scheduler.address
	RMWebApp         string        // yarn.resourcemanager.webapp.address
	YarnWorkDir      string        // MiniYARNCluster's directory: NM local dirs and container logs
	NodeManagers     int           //
	RPCProtection    string        // hadoop.rpc.protection in force
	StartTime        time.Duration // from process start to the ready line
	LogFile          string        // the harness's stderr
	KDC              *krbtest.KDC  // Secure: the KDC
	KDCConf          string        // Secure: krb5.conf naming the KDC (KRB5_CONFIG for clients)
	UserPrincipal    string        // Secure: user@REALM, the OS user's name
	UserKeytab       string        // Secure: its keytab
	ServicePrincipal string        // Secure: hadoop/_HOST@REALM, every service's principal
	LabelledNode     string        // NodeLabel: host:port of the labelled NodeManager's node
	LabelledNodeHTTP string        // NodeLabel: its web address (container log links start with it)
	ExtraNode        string        // ExtraNodeManager: host:port of the extra NodeManager's node
	External         bool          // a running cluster named by STOKE_HADOOP_EXTERNAL_CONF_DIR

	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan error
	once  sync.Once
}

// Options tune Start.
type Options struct {
	// NodeManagers to run, 1 (default) to 4.
	NodeManagers int
	// RPCProtection sets hadoop.rpc.protection (authentication, integrity, privacy). Without
	// Kerberos it still governs TOKEN connections: the AM's scheduler and NodeManager links.
	RPCProtection string
	// Secure selects the Kerberos mode with a hadoop.rpc.protection level (authentication,
	// integrity, privacy): StartWith starts a real MIT KDC (krbtest) with the services'
	// principal hadoop/localhost, HTTP/localhost and a user principal named after the OS user.
	Secure string
	// DataTransfer sets dfs.data.transfer.protection in Secure mode when it should differ
	// from the RPC level.
	DataTransfer string
	// TokenMaxLifetime shortens HDFS delegation tokens' maximum lifetime in Secure mode.
	TokenMaxLifetime time.Duration
	// NodeLabel enables YARN node labels and puts this exclusive label on NodeManager 0
	// (Cluster.LabelledNode); the default queue may use the whole labelled partition.
	NodeLabel string
	// ExtraNodeManager starts one more NodeManager whose node is named by this address (an
	// address whose canonical name is itself, such as 127.0.0.2), and names the DataNode by it
	// too, so HDFS blocks are on that node: MiniYARNCluster names every one of its
	// NodeManagers after the local hostname, so host-level container requests cannot tell them
	// apart.
	ExtraNodeManager string
	// NodeLocalityDelay, when above 0, sets the capacity scheduler's node-locality-delay
	// (missed scheduling opportunities before a container goes off its preferred node; the
	// harness otherwise disables delay scheduling).
	NodeLocalityDelay int
	// Heartbeat, when above 0, sets the NodeManagers' heartbeat interval (the harness's
	// default is 100ms). Delay scheduling counts missed opportunities in heartbeats: a longer
	// interval makes a node that is late by one heartbeat, under load, rarer.
	Heartbeat time.Duration
	// ProxyUsers get an HDFS home directory (/user/NAME, theirs), for impersonated submissions.
	ProxyUsers []string
	// AllowProxy lists the users the OS user (UserPrincipal) may impersonate from any host
	// (hadoop.proxyuser.<OS user>.hosts=* and .users); empty: it may impersonate no one.
	AllowProxy []string
	// SecondHDFS starts another HDFS (own NameNode and DataNode, same security settings and
	// KDC) in the harness, reported as Cluster.SecondFS and absent from the conf directory.
	SecondHDFS bool
	// LogAggregation turns on YARN log aggregation to HDFS (LogAggregationDir) with a
	// controller, "TFile" or "IndexedFormat", optionally followed by ":gz" to compress the
	// blocks ("" leaves aggregation off).
	LogAggregation string
	// LogRollInterval, with LogAggregation, also uploads running applications' logs this
	// often (whole seconds; rolling aggregation).
	LogRollInterval time.Duration
}

// LogAggregationDir is yarn.nodemanager.remote-app-log-dir with Options.LogAggregation.
const LogAggregationDir = "/app-logs"

// Env returns HADOOP_CONF_DIR and YARN_CONF_DIR entries for a child process environment.
func (c *Cluster) Env() []string {
	return []string{"HADOOP_CONF_DIR=" + c.ConfDir, "YARN_CONF_DIR=" + c.ConfDir}
}

// Start starts a harness with one NodeManager and stops it when the test ends.
func Start(t testing.TB) *Cluster { return StartWith(t, Options{}) }

// StartWith starts a harness as opts say and stops it when the test ends.
func StartWith(t testing.TB, opts Options) *Cluster {
	t.Helper()
	if os.Getenv(EnvSkip) == "1" {
		t.Skipf("%s=1: skipping a test that needs the Hadoop minicluster harness", EnvSkip)
	}
	if dir := os.Getenv(EnvExternal); dir != "" {
		if opts.Secure != "" || opts.TokenMaxLifetime != 0 || len(opts.ProxyUsers) > 0 || len(opts.AllowProxy) > 0 || opts.SecondHDFS || opts.LogAggregation != "" {
			t.Skipf("%s=%s: this test starts its own minicluster (a KDC, a protection level, short token lifetimes, proxy users, a second HDFS, log aggregation); against a running cluster the other tests run", EnvExternal, dir)
		}
		if opts.NodeLabel != "" || opts.ExtraNodeManager != "" || opts.NodeLocalityDelay > 0 || opts.Heartbeat > 0 {
			t.Skipf("%s=%s: this test lays out its own minicluster's nodes (labels, an extra NodeManager); against a running cluster the other tests run", EnvExternal, dir)
		}
		c, err := external(dir)
		if err != nil {
			t.Fatalf("hadooptest: %s=%s: %v", EnvExternal, dir, err)
		}
		t.Logf("hadooptest: using the running cluster of %s: fs=%s rm=%s", dir, c.FS, c.RM)
		return c
	}
	cp, err := build()
	if err != nil {
		t.Fatalf("hadooptest: %v\n(set %s=1 to skip the Hadoop integration tests explicitly)", err, EnvSkip)
	}
	dir := t.TempDir()
	var sec *secureSetup
	if opts.Secure != "" {
		sec = setupKDC(t)
	}
	c, err := launch(cp, dir, opts, sec)
	if err != nil {
		t.Fatalf("hadooptest: %v", err)
	}
	if sec != nil {
		c.KDC, c.KDCConf, c.UserPrincipal, c.UserKeytab = sec.kdc, sec.kdc.Krb5Conf, sec.user, sec.userKeytab
		c.ServicePrincipal = "hadoop/_HOST@" + krbtest.Realm
	}
	t.Cleanup(func() {
		t0 := time.Now()
		if err := c.Stop(); err != nil {
			t.Errorf("hadooptest: stopping the harness: %v", err)
			return
		}
		t.Logf("hadooptest: harness stopped in %v", time.Since(t0).Round(time.Millisecond))
	})
	t.Logf("hadooptest: harness ready in %v: fs=%s rm=%s conf=%s log=%s", c.StartTime.Round(time.Millisecond), c.FS, c.RM, c.ConfDir, c.LogFile)
	return c
}

// Stop closes the harness's stdin and waits for it to shut down (killing it after 60 s).
func (c *Cluster) Stop() error {
	var err error
	c.once.Do(func() {
		c.stdin.Close()
		select {
		case err = <-c.done:
		case <-time.After(60 * time.Second):
			c.cmd.Process.Kill()
			<-c.done
			err = fmt.Errorf("harness did not stop within 60s of stdin closing; killed (log: %s)", c.LogFile)
		}
	})
	return err
}

func harnessDir() (string, error) {
	if d := os.Getenv(EnvHarnessDir); d != "" {
		return d, nil
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("cannot locate the harness project: runtime.Caller failed; set " + EnvHarnessDir)
	}
	if !filepath.IsAbs(file) {
		return "", fmt.Errorf("cannot locate the harness project from %q (built with -trimpath?); set %s", file, EnvHarnessDir)
	}
	return filepath.Join(filepath.Dir(file), "..", "hadoop-harness"), nil
}

var (
	buildOnce sync.Once
	buildCP   string
	buildErr  error
)

// build compiles the harness once per process (Maven skips the work when it is up to date)
// and returns the Java classpath to run it with.
func build() (string, error) {
	buildOnce.Do(func() { buildCP, buildErr = doBuild() })
	return buildCP, buildErr
}

func doBuild() (string, error) {
	if _, err := exec.LookPath("java"); err != nil {
		return "", errors.New("java is not on PATH: the Hadoop harness needs a Java 17 JDK (Debian: apt-get install openjdk-17-jdk-headless)")
	}
	if _, err := exec.LookPath("javac"); err != nil {
		return "", errors.New("javac is not on PATH: building the Hadoop harness needs a JDK, not only a JRE (Debian: apt-get install openjdk-17-jdk-headless)")
	}
	mvn, err := exec.LookPath("mvn")
	if err != nil {
		return "", errors.New("mvn is not on PATH: the Hadoop harness is built with Maven 3 (Debian: apt-get install maven)")
	}
	dir, err := harnessDir()
	if err != nil {
		return "", err
	}
	pom := filepath.Join(dir, "pom.xml")
	if _, err := os.Stat(pom); err != nil {
		return "", fmt.Errorf("harness project not found: %v", err)
	}
	// One build at a time across test processes.
	lock, err := os.OpenFile(filepath.Join(os.TempDir(), "stoke-hadoop-harness.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", err
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)

	target := filepath.Join(dir, "target")
	cpFile := filepath.Join(target, "classpath.txt")
	if !upToDate(dir, cpFile) {
		cmd := exec.Command(mvn, "-B", "-q", "-f", pom, "package")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("building the Hadoop harness (mvn -B -q -f %s package) failed: %v\n%s\n"+
				"(the first build downloads Hadoop 3.5.0 from Maven Central, about 170 MB, into ~/.m2)", pom, err, tail(out.String(), 4000))
		}
	}
	cp, err := os.ReadFile(cpFile)
	if err != nil {
		return "", fmt.Errorf("the harness build did not write its classpath: %v", err)
	}
	return filepath.Join(target, "classes") + string(os.PathListSeparator) + strings.TrimSpace(string(cp)), nil
}

// upToDate reports whether the build output is newer than the pom and every source file.
func upToDate(dir, out string) bool {
	st, err := os.Stat(out)
	if err != nil {
		return false
	}
	newer := false
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && d.Name() == "target" {
			return filepath.SkipDir
		}
		if info, err := d.Info(); err == nil && !d.IsDir() && info.ModTime().After(st.ModTime()) {
			newer = true
		}
		return nil
	})
	if newer {
		return false
	}
	// Every classpath entry must still exist (a wiped ~/.m2 means rebuild).
	cp, err := os.ReadFile(out)
	if err != nil {
		return false
	}
	for _, e := range strings.Split(strings.TrimSpace(string(cp)), string(os.PathListSeparator)) {
		if _, err := os.Stat(e); err != nil {
			return false
		}
	}
	return true
}

// readyLine is the JSON the harness prints after "HARNESS READY ".
type readyLine struct {
	ConfDir          string `json:"confdir"`
	WorkDir          string `json:"workdir"`
	FS               string `json:"fs"`
	SecondFS         string `json:"second_fs"`
	RM               string `json:"rm"`
	Scheduler        string `json:"scheduler"`
	RMWebApp         string `json:"rm_webapp"`
	NodeManagers     int    `json:"nodemanagers"`
	YarnWorkDir      string `json:"yarn_workdir"`
	RPCProtection    string `json:"rpc_protection"`
	LabelledNode     string `json:"labelled_node"`
	LabelledNodeHTTP string `json:"labelled_node_http"`
	ExtraNode        string `json:"extra_node"`
}

const readyPrefix = "HARNESS READY "

func startTimeout() time.Duration {
	if v := os.Getenv(EnvStartTimeout); v != "" {
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			return d
		}
	}
	return 5 * time.Minute
}

// secureSetup is the KDC side of a secure harness.
type secureSetup struct {
	kdc                             *krbtest.KDC
	serviceKeytab, user, userKeytab string
}

func setupKDC(t testing.TB) *secureSetup {
	k := krbtest.Start(t)
	svc := k.AddPrincipal(t, "hadoop/localhost@"+krbtest.Realm)
	// HTTP/localhost goes into the same keytab: the harness names one keytab for all.
	k.AddPrincipalTo(t, "HTTP/localhost@"+krbtest.Realm, svc)
	u := osUser() + "@" + krbtest.Realm
	return &secureSetup{kdc: k, serviceKeytab: svc, user: u, userKeytab: k.AddPrincipal(t, u)}
}

func osUser() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "nobody"
}

func launch(classpath, dir string, opts Options, sec *secureSetup) (*Cluster, error) {
	cpConf := filepath.Join(dir, "classpath-conf")
	// The JVM ignores classpath directories missing at its start.
	if err := os.MkdirAll(cpConf, 0o755); err != nil {
		return nil, err
	}
	args := []string{"-Xmx1g", "-cp", cpConf + string(os.PathListSeparator) + classpath, "run.stoke.harness.Harness",
		"--conf-dir", filepath.Join(dir, "conf"), "--work-dir", filepath.Join(dir, "work")}
	if opts.NodeManagers > 0 {
		args = append(args, "--nodemanagers", strconv.Itoa(opts.NodeManagers))
	}
	if opts.RPCProtection != "" {
		args = append(args, "--rpc-protection", opts.RPCProtection)
	}
	if opts.NodeLabel != "" {
		args = append(args, "--node-label", opts.NodeLabel)
	}
	if opts.ExtraNodeManager != "" {
		args = append(args, "--extra-nodemanager", opts.ExtraNodeManager)
	}
	if opts.Heartbeat > 0 {
		args = append(args, "--heartbeat-ms", strconv.FormatInt(opts.Heartbeat.Milliseconds(), 10))
	}
	if opts.NodeLocalityDelay > 0 {
		args = append(args, "--node-locality-delay", strconv.Itoa(opts.NodeLocalityDelay))
	}
	if len(opts.ProxyUsers) > 0 {
		args = append(args, "--proxy-users", strings.Join(opts.ProxyUsers, ","))
	}
	if len(opts.AllowProxy) > 0 {
		args = append(args, "--allow-proxy", strings.Join(opts.AllowProxy, ","))
	}
	if opts.SecondHDFS {
		args = append(args, "--second-hdfs")
	}
	if opts.LogAggregation != "" {
		args = append(args, "--log-aggregation", opts.LogAggregation)
		if opts.LogRollInterval > 0 {
			args = append(args, "--log-roll-seconds", strconv.Itoa(int(opts.LogRollInterval.Seconds())))
		}
	}
	if opts.Secure != "" {
		args = append(args, "--secure="+opts.Secure, "--krb5-conf", sec.kdc.Krb5Conf, "--keytab", sec.serviceKeytab, "--realm", krbtest.Realm)
		args = append(args, "--classpath-conf", cpConf)
		if opts.TokenMaxLifetime > 0 {
			args = append(args, "--token-max-lifetime-ms", strconv.FormatInt(opts.TokenMaxLifetime.Milliseconds(), 10))
		}
		if opts.DataTransfer != "" {
			args = append(args, "--data-transfer-protection", opts.DataTransfer)
		}
	}
	logPath := filepath.Join(dir, "harness.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("java", args...)
	cmd.Dir = dir
	cmd.Stderr = logf
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		logf.Close()
		return nil, err
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		logf.Close()
		return nil, err
	}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting java: %v", err)
	}
	c := &Cluster{cmd: cmd, stdin: stdin, done: make(chan error, 1), LogFile: logPath}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		sent := false
		for sc.Scan() {
			if !sent && strings.HasPrefix(sc.Text(), readyPrefix) {
				lines <- sc.Text()
				sent = true
			}
		}
		close(lines)
	}()
	go func() {
		err := cmd.Wait()
		logf.Close()
		c.done <- err
	}()
	fail := func(format string, args ...any) (*Cluster, error) {
		c.stdin.Close()
		c.cmd.Process.Kill()
		msg := fmt.Sprintf(format, args...)
		log, _ := os.ReadFile(logPath)
		return nil, fmt.Errorf("%s\nharness log %s (last lines):\n%s", msg, logPath, tail(string(log), 6000))
	}
	timeout := startTimeout()
	select {
	case line, ok := <-lines:
		if !ok {
			err := <-c.done
			c.done <- err
			return fail("the harness exited before it was ready (%v)", err)
		}
		var r readyLine
		if err := json.Unmarshal([]byte(strings.TrimPrefix(line, readyPrefix)), &r); err != nil {
			return fail("unparsable ready line %q: %v", line, err)
		}
		c.ConfDir, c.WorkDir, c.FS, c.RM, c.Scheduler, c.RMWebApp = r.ConfDir, r.WorkDir, r.FS, r.RM, r.Scheduler, r.RMWebApp
		c.SecondFS = r.SecondFS
		if opts.SecondHDFS && c.SecondFS == "" {
			return fail("the harness started no second HDFS (its ready line has no second_fs)")
		}
		c.YarnWorkDir, c.NodeManagers, c.RPCProtection = r.YarnWorkDir, r.NodeManagers, r.RPCProtection
		c.LabelledNode, c.LabelledNodeHTTP, c.ExtraNode = r.LabelledNode, r.LabelledNodeHTTP, r.ExtraNode
		if u, err := url.Parse(r.FS); err == nil {
			c.NameNode = u.Host
		}
		c.StartTime = time.Since(t0)
		return c, nil
	case <-time.After(timeout):
		return fail("the harness printed no ready line within %v (hang guard; raise %s if the machine is very slow)", timeout, EnvStartTimeout)
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// external describes a cluster that is already running from its conf
// directory; Stop does nothing for it.
func external(dir string) (*Cluster, error) {
	conf, err := hconf.LoadDir(nil, dir)
	if err != nil {
		return nil, err
	}
	c := &Cluster{ConfDir: dir, NodeManagers: 1, External: true, done: make(chan error, 1)}
	c.FS = conf.Get("fs.defaultFS")
	c.RM = conf.Get("yarn.resourcemanager.address")
	c.Scheduler = conf.Get("yarn.resourcemanager.scheduler.address")
	c.RMWebApp = conf.Get("yarn.resourcemanager.webapp.address")
	if u, err := url.Parse(c.FS); err == nil {
		c.NameNode = u.Host
	}
	if c.FS == "" || c.RM == "" {
		return nil, fmt.Errorf("the configuration sets no fs.defaultFS or no yarn.resourcemanager.address")
	}
	c.once.Do(func() {}) // nothing to stop
	return c, nil
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/stoke-run/stoke/internal/conf"
)

func init() { addCommand(newSubmitCmd) }

// submitOptions are the flags of `stoke submit`.
type submitOptions struct {
	confs          []string // --conf k=v, in order
	propertiesFile string
	verbose        bool
	supervise      bool
	status, kill   string             // --status ID, --kill ID (standalone driver or YARN application)
	values         map[string]*string // dedicated flag name -> its value
	changed        map[string]bool    // flags given on the command line
	log            *app               // its global --log-level and --log-format
}

// submitFlagKeys maps each dedicated string flag of `stoke submit` to the
// configuration key it sets (with SourceSubmit, above --conf).
var submitFlagKeys = []struct{ flag, key, usage string }{
	{"master", "stoke.master", "master `URL`: local, local[N], local[N,F], local-cluster[N,C,M], stoke://host:port, yarn, mesos://host:port (default local[*])"},
	{"deploy-mode", "stoke.submit.deployMode", "deploy `MODE`: client (the driver runs here) or cluster (default client)"},
	{"name", "stoke.app.name", "application `NAME`"},
	{"executor-memory", "stoke.executor.memory", "`SIZE` of each executor's memory, e.g. 512m, 2g (default 1g)"},
	{"executor-cores", "stoke.executor.cores", "`NUM` cores per executor (default 1)"},
	{"num-executors", "stoke.executor.instances", "`NUM` executors to start (default 2)"},
	{"total-executor-cores", "stoke.cores.max", "`NUM` cores of all executors in total (standalone, Mesos)"},
	{"driver-memory", "stoke.driver.memory", "`SIZE` of the driver's memory, e.g. 1g (default 1g)"},
	{"driver-cores", "stoke.driver.cores", "`NUM` cores of the driver in cluster deploy mode (default 1)"},
	{"queue", "stoke.yarn.queue", "YARN `QUEUE` (default \"default\")"},
	{"principal", "stoke.kerberos.principal", "Kerberos `PRINCIPAL` to log in as, with --keytab (default: the ticket cache)"},
	{"keytab", "stoke.kerberos.keytab", "keytab `FILE` of --principal"},
	{"proxy-user", "stoke.yarn.proxyUser", "YARN: submit for `USER` (Hadoop impersonation by the Kerberos login; not with --principal)"},
	{"files", "stoke.files", "comma-separated `FILES` (path[#name]; local, hdfs://, and on Mesos http(s)://) copied into every executor's working directory (YARN, Mesos, standalone)"},
	{"archives", "stoke.archives", "comma-separated `ARCHIVES` (.zip, .jar, .tar, .tar.gz, .tgz; path[#name]) unpacked into a directory of that name in every executor's working directory (YARN, Mesos, standalone)"},
}

// defineSubmitFlags declares submit's flags on fs into o.
func defineSubmitFlags(fs *pflag.FlagSet, o *submitOptions) {
	fs.SetInterspersed(false) // everything after the binary belongs to the application
	o.values = make(map[string]*string)
	for _, f := range submitFlagKeys {
		o.values[f.flag] = fs.String(f.flag, "", f.usage+" ["+f.key+"]")
	}
	fs.StringArrayVarP(&o.confs, "conf", "c", nil, "configuration property `KEY=VALUE` (repeatable)")
	fs.StringVar(&o.propertiesFile, "properties-file", "", "properties `FILE` (default $STOKE_CONF_DIR/"+conf.PropertiesFileName+")")
	fs.BoolVar(&o.verbose, "verbose", false, "print the resolved configuration with the source of each value, and the application command")
	fs.BoolVar(&o.supervise, "supervise", false, "cluster deploy mode: restart the driver when it fails [stoke.driver.supervise]")
	fs.StringVar(&o.status, "status", "", "print the state of the driver with submission `ID` (standalone) or of YARN application ID")
	fs.StringVar(&o.kill, "kill", "", "kill the driver with submission `ID` (standalone) or YARN application ID")
}

// recordChanged notes which flags were given, after fs has parsed.
func recordChanged(fs *pflag.FlagSet, o *submitOptions) {
	o.changed = make(map[string]bool)
	fs.Visit(func(f *pflag.Flag) { o.changed[f.Name] = true })
}

// parseSubmitArgs parses submit's command line (without "submit") the way
// the cobra command does; the remaining arguments are the binary and its
// arguments.
func parseSubmitArgs(argv []string) (*submitOptions, []string, error) {
	o := &submitOptions{}
	fs := pflag.NewFlagSet("submit", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	defineSubmitFlags(fs, o)
	if err := fs.Parse(argv); err != nil {
		return nil, nil, err
	}
	recordChanged(fs, o)
	return o, fs.Args(), nil
}

// submitPlan is everything `stoke submit` decided before starting anything.
type submitPlan struct {
	conf           *conf.Conf
	master         conf.Master
	deployMode     string // "client" or "cluster"
	binary         string // absolute path of the application binary
	args           []string
	propertiesFile string // the file read, "" if none
	warnings       []string
}

// configError is an invalid configuration, printed one problem per line.
type configError struct{ err error }

func (e *configError) Error() string {
	return "invalid configuration:\n  " + strings.ReplaceAll(e.err.Error(), "\n", "\n  ")
}

func (e *configError) Unwrap() error { return e.err }

// resolveSubmit resolves the configuration of a submission with the
// precedence defaults < properties file < --conf < dedicated flags, validates
// it, and checks the master, the deploy mode and the application binary.
// args are the binary and its arguments.
func resolveSubmit(o *submitOptions, args []string) (*submitPlan, error) {
	if len(args) == 0 {
		return nil, usageError{err: errors.New("missing the application binary: stoke submit [flags] <app-binary> [app args]"), cmd: "stoke submit"}
	}
	p := &submitPlan{conf: conf.New(), args: args[1:]}
	c := p.conf

	entries, path, err := conf.ReadPropertiesFile(o.propertiesFile)
	if err != nil {
		return nil, err
	}
	p.propertiesFile = path
	for _, e := range entries {
		c.Set(e.Key, e.Value, e.Source)
	}
	secretOnCommandLine := false
	for _, kv := range o.confs {
		k, v, err := parseConfFlag(kv)
		if err != nil {
			return nil, err
		}
		c.Set(k, v, conf.SourceConfFlag)
		secretOnCommandLine = secretOnCommandLine || k == "stoke.authenticate.secret"
	}
	for _, f := range submitFlagKeys {
		if o.changed[f.flag] {
			c.Set(f.key, *o.values[f.flag], conf.SourceSubmit)
		}
	}
	if o.supervise {
		c.Set("stoke.driver.supervise", "true", conf.SourceSubmit)
	}
	if o.log != nil {
		o.log.applyLogFlags(c)
	}

	warnings, err := c.Validate()
	p.warnings = warnings
	if secretOnCommandLine {
		p.warnings = append(p.warnings, "--conf stoke.authenticate.secret=... puts the secret in the process list, readable by every local user; use stoke.authenticate.secret.file (a 0600 file) instead")
	}
	if err != nil {
		return p, &configError{err}
	}
	p.master, err = conf.ParseMaster(c.String("stoke.master"))
	if err != nil {
		return p, err
	}
	p.deployMode = strings.ToLower(strings.TrimSpace(c.String("stoke.submit.deployMode")))
	if p.deployMode == "cluster" && p.master.IsLocal() {
		return p, fmt.Errorf("cluster deploy mode is not supported for local masters (master %q); use --deploy-mode client", p.master.Raw)
	}
	if supervise, _ := c.Bool("stoke.driver.supervise"); supervise && p.deployMode != "cluster" {
		p.warnings = append(p.warnings, "stoke.driver.supervise applies only to cluster deploy mode; ignored")
	}
	p.binary, err = resolveBinary(args[0])
	if err != nil {
		return p, err
	}
	return p, nil
}

// parseConfFlag splits one --conf value at its first '='.
func parseConfFlag(kv string) (key, value string, err error) {
	k, v, ok := strings.Cut(kv, "=")
	k = strings.TrimSpace(k)
	if !ok {
		return "", "", fmt.Errorf("--conf %q: expected key=value", kv)
	}
	if k == "" {
		return "", "", fmt.Errorf("--conf %q: empty key before '='", kv)
	}
	return k, v, nil
}

// resolveBinary finds the application binary: a path, or a bare name in the
// current directory or on PATH. It must be an executable regular file.
func resolveBinary(name string) (string, error) {
	path := name
	if !strings.ContainsRune(name, os.PathSeparator) {
		if _, err := os.Stat(name); err != nil {
			lp, lerr := exec.LookPath(name)
			if lerr != nil {
				return "", fmt.Errorf("application binary %q not found in the current directory or on PATH", name)
			}
			path = lp
		}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("application binary %q: %v", name, err)
	}
	fi, err := os.Stat(abs)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "", fmt.Errorf("application binary %q does not exist", name)
	case err != nil:
		return "", fmt.Errorf("application binary %q: %v", name, err)
	case fi.IsDir():
		return "", fmt.Errorf("application binary %q is a directory", name)
	case !fi.Mode().IsRegular():
		return "", fmt.Errorf("application binary %q is not a regular file", name)
	case fi.Mode().Perm()&0o111 == 0:
		return "", fmt.Errorf("application binary %q is not executable (try chmod +x %s)", name, abs)
	}
	return abs, nil
}

// clusterRequest is what a cluster submitter needs to start the driver on
// the cluster.
type clusterRequest struct {
	Conf   *conf.Conf // resolved and validated; HandOff() is what the driver must receive
	Master conf.Master
	Binary string   // absolute path of the application binary, to ship
	Args   []string // the application's arguments
	Stdout io.Writer
	Stderr io.Writer
}

// HandOff is the STOKE_SUBMIT_CONF value for the driver.
func (r clusterRequest) HandOff() string { return conf.EncodeSubmit(r.Conf.All()) }

// A clusterSubmitter starts the application's driver on the cluster
// (cluster deploy mode) and returns the exit code of `stoke submit`. ctx is
// cancelled on SIGINT or SIGTERM.
type clusterSubmitter func(ctx context.Context, req clusterRequest) (exitCode int, err error)

// clusterSubmitters holds the cluster deploy mode of each cluster manager.
// A backend plugs in from its own file in this package:
//
//	func init() { clusterSubmitters[conf.YARN] = submitYARNCluster }
var clusterSubmitters = map[conf.MasterKind]clusterSubmitter{
	conf.Standalone: notSupportedYet,
	conf.YARN:       notSupportedYet,
}

func notSupportedYet(_ context.Context, req clusterRequest) (int, error) {
	return 0, fmt.Errorf("cluster deploy mode for %s masters (%q) is not supported yet; use --deploy-mode client", req.Master.Kind, req.Master.Raw)
}

func newSubmitCmd(a *app) *cobra.Command {
	o := &submitOptions{}
	cmd := &cobra.Command{
		Use:   "submit [flags] <app-binary> [app args]",
		Short: "Run an application binary as the driver of a Stoke application",
		Long: `Submit resolves the application's configuration (defaults, then the properties
file, then --conf, then the dedicated flags; values set in the application's
code win over all of them), validates it, and runs the application binary as
the driver with the resolved configuration in STOKE_SUBMIT_CONF. stoke submit
exits with the application's exit code. Flags after the binary are the
application's.`,
		Example: "  stoke submit --master local[4] --conf stoke.speculation=true ./wordcount in.txt",
		RunE: func(cmd *cobra.Command, args []string) error {
			recordChanged(cmd.Flags(), o)
			return runSubmit(cmd.Context(), a, o, args)
		},
	}
	defineSubmitFlags(cmd.Flags(), o)
	return cmd
}

func runSubmit(ctx context.Context, a *app, o *submitOptions, args []string) error {
	if o.status != "" || o.kill != "" {
		return driverRequest(ctx, a.stdout, o)
	}
	o.log = a
	p, err := resolveSubmit(o, args)
	if p != nil {
		for _, w := range p.warnings {
			fmt.Fprintf(a.stderr, "stoke: warning: %s\n", w)
		}
	}
	if err != nil {
		return err
	}
	if o.verbose {
		printPlan(a.stderr, p)
	}
	if p.deployMode == "cluster" {
		submit := clusterSubmitters[p.master.Kind]
		if submit == nil {
			submit = notSupportedYet
		}
		ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
		code, err := submit(ctx, clusterRequest{Conf: p.conf, Master: p.master, Binary: p.binary, Args: p.args, Stdout: a.stdout, Stderr: a.stderr})
		if err != nil {
			return err
		}
		return exitOrNil(code)
	}
	env := withEnv(os.Environ(), conf.SubmitConfEnv, conf.EncodeSubmit(p.conf.All()))
	code, err := runApp(a, p.binary, p.args, env)
	if err != nil {
		return err
	}
	return exitOrNil(code)
}

func exitOrNil(code int) error {
	if code == 0 {
		return nil
	}
	return exitCodeError{code}
}

// printPlan writes what --verbose shows: every key that has a value, set or
// default, with its (redacted) value and source, then the application
// command line.
func printPlan(w io.Writer, p *submitPlan) {
	pf := p.propertiesFile
	if pf == "" {
		pf = "(none)"
	}
	fmt.Fprintf(w, "Properties file: %s\n", pf)
	fmt.Fprintf(w, "Master: %s (%s), deploy mode: %s\n", p.master.Raw, p.master.Kind, p.deployMode)
	fmt.Fprintln(w, "Configuration:")
	entries := p.conf.Redacted()
	for _, k := range conf.Keys() {
		if _, set := p.conf.Get(k.Name); set {
			continue
		}
		if v := p.conf.String(k.Name); v != "" {
			if conf.IsSensitive(k.Name) {
				v = conf.RedactedValue
			}
			entries = append(entries, conf.Entry{Key: k.Name, Value: v, Source: conf.SourceDefault})
		}
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Key < entries[j].Key })
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, e := range entries {
		fmt.Fprintf(tw, "  %s\t%s\t(%s)\n", e.Key, e.Value, e.Source)
	}
	tw.Flush()
	cmdline := []string{shellQuote(p.binary)}
	for _, a := range p.args {
		cmdline = append(cmdline, shellQuote(a))
	}
	fmt.Fprintf(w, "Application command: %s\n", strings.Join(cmdline, " "))
}

func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`!*?[]{}()<>|&;#~") {
		return s
	}
	return strconv.Quote(s)
}

// withEnv returns env with key set to value, replacing any earlier setting.
func withEnv(env []string, key, value string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, key+"=") {
			out = append(out, kv)
		}
	}
	return append(out, key+"="+value)
}

// runApp runs the application in client deploy mode with submit's standard
// streams, forwarding SIGINT and SIGTERM to it, and returns its exit code
// (128+n when signal n killed it).
//
// The application stays in stoke's process group, so a Ctrl-C at a terminal
// reaches it directly as well as through forwarding; Go programs that stop on
// the first SIGINT see no difference.
func runApp(a *app, binary string, args, env []string) (int, error) {
	cmd := exec.Command(binary, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = a.stdin, a.stdout, a.stderr
	cmd.Env = env

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)

	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("starting application %s: %w", binary, err)
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				_ = cmd.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	if err == nil {
		return 0, nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return ee.ExitCode(), nil
	}
	return 0, fmt.Errorf("running application %s: %w", binary, err)
}

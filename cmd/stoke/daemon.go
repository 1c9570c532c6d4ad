package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/sirupsen/logrus"
	"github.com/spf13/pflag"

	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/internal/logging"
	"github.com/stoke-run/stoke/standalone"
)

// daemonFlags are the configuration flags `stoke master` and `stoke worker`
// share with `stoke submit`.
type daemonFlags struct {
	confs          []string
	propertiesFile string
}

func (f *daemonFlags) define(fs *pflag.FlagSet) {
	fs.StringArrayVarP(&f.confs, "conf", "c", nil, "configuration property `KEY=VALUE` (repeatable)")
	fs.StringVar(&f.propertiesFile, "properties-file", "", "properties `FILE` (default $STOKE_CONF_DIR/"+conf.PropertiesFileName+")")
}

// resolve reads the properties file, then --conf, and validates.
func (f *daemonFlags) resolve(a *app) (*conf.Conf, error) {
	c := conf.New()
	entries, _, err := conf.ReadPropertiesFile(f.propertiesFile)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		c.Set(e.Key, e.Value, e.Source)
	}
	for _, kv := range f.confs {
		k, v, err := parseConfFlag(kv)
		if err != nil {
			return nil, err
		}
		c.Set(k, v, conf.SourceConfFlag)
	}
	a.applyLogFlags(c)
	warnings, err := c.Validate()
	for _, w := range warnings {
		fmt.Fprintf(a.stderr, "stoke: warning: %s\n", w)
	}
	if err != nil {
		return nil, &configError{err}
	}
	return c, nil
}

// daemonLog logs to stderr at stoke.log.level.
func daemonLog(a *app, c *conf.Conf) *logrus.Logger {
	log := logrus.New()
	log.SetOutput(a.stderr)
	// The values were validated with the rest of the configuration.
	_ = logging.Apply(log, c.String("stoke.log.level"), c.String("stoke.log.format"))
	return log
}

// envDefault returns the environment variable's value, or def.
func envDefault(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func envInt(name string, def int) int {
	if v := os.Getenv(name); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	}
	return def
}

// parseMiB parses a memory size: a number of MiB, or with a k, m, g or t
// suffix (512m, 4g).
func parseMiB(s string) (int, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.TrimSuffix(t, "b")
	mult := 1.0
	switch {
	case strings.HasSuffix(t, "k"):
		mult, t = 1.0/1024, t[:len(t)-1]
	case strings.HasSuffix(t, "m"):
		t = t[:len(t)-1]
	case strings.HasSuffix(t, "g"):
		mult, t = 1024, t[:len(t)-1]
	case strings.HasSuffix(t, "t"):
		mult, t = 1024*1024, t[:len(t)-1]
	}
	n, err := strconv.ParseFloat(t, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("memory size %q: expected a positive size such as 512m or 4g", s)
	}
	return int(n * mult), nil
}

// untilSignal waits for SIGINT or SIGTERM.
func untilSignal(ctx context.Context) {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
}

// secretFlags are --secret-file and --insecure of `stoke master` and
// `stoke worker`.
type secretFlags struct {
	file     string
	insecure bool
}

func (f *secretFlags) define(fs *pflag.FlagSet) {
	fs.StringVar(&f.file, "secret-file", "", "`FILE` with the cluster secret (default: stoke.authenticate.secret.file, else $STOKE_CONF_DIR/"+standalone.SecretFileName+", else ~/.stoke/"+standalone.SecretFileName+")")
	fs.BoolVar(&f.insecure, "insecure", false, "run without a cluster secret even when listening beyond loopback: anyone who reaches the port can run code on the workers")
}

// warnSecretOnCommandLine warns when the secret (whose: "the cluster
// secret") is in the process's arguments, where every local user can read
// it, saying what to do instead.
func (f *daemonFlags) warnSecretOnCommandLine(a *app, whose, instead string) {
	for _, kv := range f.confs {
		if strings.HasPrefix(strings.TrimSpace(kv), standalone.KeySecret+"=") {
			fmt.Fprintf(a.stderr, "stoke: warning: --conf %s=... puts %s in the process list, readable by every local user; %s\n", standalone.KeySecret, whose, instead)
		}
	}
}

// daemonSecretAdvice is what master and worker users do instead.
const daemonSecretAdvice = "use --secret-file FILE (mode 0600) instead"

// masterSecret picks the master's cluster secret: --secret-file (created
// if missing), stoke.authenticate.secret, stoke.authenticate.secret.file,
// none with --insecure or on loopback, else the default secret file,
// created on first start.
func (f *secretFlags) masterSecret(c *conf.Conf, host string, log logrus.FieldLogger) (secret, file string, err error) {
	file = f.file
	if file == "" && c.String(standalone.KeySecret) != "" {
		return c.String(standalone.KeySecret), "", nil
	}
	if file == "" {
		file = c.String(standalone.KeySecretFile)
	}
	if file == "" {
		if f.insecure || standalone.IsLoopback(host) {
			return "", "", nil
		}
		if file, err = standalone.DefaultSecretFile(); err != nil {
			return "", "", err
		}
	}
	secret, created, err := standalone.EnsureSecretFile(file)
	if err != nil {
		return "", "", fmt.Errorf("%w (give another --secret-file, or --insecure to run an open cluster on purpose)", err)
	}
	if created {
		log.Warnf("created the cluster secret file %s (mode 0600). Copy it to every worker and submitter machine "+
			"(same path, or give its path with --secret-file / stoke.authenticate.secret.file); never pass the secret on a command line", file)
	}
	return secret, file, nil
}

// workerSecret picks a worker's cluster secret: --secret-file, else
// stoke.authenticate.secret, stoke.authenticate.secret.file, or the
// default secret file if it exists.
func (f *secretFlags) workerSecret(c *conf.Conf) (string, error) {
	if f.file != "" {
		return standalone.ReadSecretFile(f.file)
	}
	s, _, err := standalone.ClientSecret(c)
	return s, err
}

// usableAddr is addr as others should dial it: a daemon listening on every
// interface (0.0.0.0, [::]) is named by this machine's host name, as
// Spark's master prints spark://HOST:7077, not stoke://[::]:7077.
func usableAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		name, err := os.Hostname()
		if err != nil || name == "" {
			name = "127.0.0.1"
		}
		return net.JoinHostPort(name, port)
	}
	return addr
}

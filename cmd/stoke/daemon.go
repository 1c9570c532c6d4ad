package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/sirupsen/logrus"
	"github.com/spf13/pflag"

	"github.com/stoke-run/stoke/internal/conf"
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
	if lvl, err := logrus.ParseLevel(c.String("stoke.log.level")); err == nil {
		log.SetLevel(lvl)
	}
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

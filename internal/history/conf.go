package history

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/stoke-run/stoke/internal/conf"
)

// Configuration keys of the history server.
const (
	KeyLogDirectory    = "stoke.history.fs.logDirectory"
	KeyUIPort          = "stoke.history.ui.port"
	KeyUpdateInterval  = "stoke.history.fs.update.interval"
	KeyCleanerEnabled  = "stoke.history.fs.cleaner.enabled"
	KeyCleanerMaxAge   = "stoke.history.fs.cleaner.maxAge"
	KeyCleanerInterval = "stoke.history.fs.cleaner.interval"
	KeyRetainedApps    = "stoke.history.retainedApplications"
)

func init() {
	conf.Register(conf.Key{Name: KeyLogDirectory, Default: "/tmp/stoke-events", Type: conf.TypeString, Check: logDirectory,
		Doc: "History server: directory of the event logs it serves, a local path or hdfs://namenode:port/path (stoke.eventLog.dir of the applications)."})
	conf.Register(conf.Key{Name: KeyUIPort, Default: "18080", Type: conf.TypeInt, Check: port,
		Doc: "History server: port of its web UI (the next free one if taken)."})
	conf.Register(conf.Key{Name: KeyUpdateInterval, Default: "10s", Type: conf.TypeDuration, Unit: "s", Check: atLeast(time.Millisecond),
		Doc: "History server: how often the log directory is scanned for new and grown logs."})
	conf.Register(conf.Key{Name: KeyCleanerEnabled, Default: "false", Type: conf.TypeBool,
		Doc: "History server: delete event logs older than stoke.history.fs.cleaner.maxAge."})
	conf.Register(conf.Key{Name: KeyCleanerMaxAge, Default: "7d", Type: conf.TypeDuration, Unit: "s", Check: atLeast(time.Second),
		Doc: "History server: age (time since the log was last written) past which the cleaner deletes a log."})
	conf.Register(conf.Key{Name: KeyCleanerInterval, Default: "1d", Type: conf.TypeDuration, Unit: "s", Check: atLeast(time.Millisecond),
		Doc: "History server: how often the cleaner runs."})
	conf.Register(conf.Key{Name: KeyRetainedApps, Default: "50", Type: conf.TypeInt, Check: conf.AtLeast(1),
		Doc: "History server: how many applications' UIs are kept in memory (least recently viewed dropped first, rebuilt from the log on the next visit)."})
}

func logDirectory(v any) error {
	s, _ := v.(string)
	if s == "" {
		return errors.New("must name a directory (a local path or hdfs://namenode:port/path)")
	}
	if i := strings.Index(s, "://"); i >= 0 {
		if scheme := s[:i]; scheme != "hdfs" && scheme != "file" {
			return fmt.Errorf("unsupported scheme %q (use a local path, file:// or hdfs://)", scheme)
		}
	}
	return nil
}

func port(v any) error {
	if n, _ := v.(int64); n < 0 || n > 65535 {
		return errors.New("must be a port number from 0 to 65535 (0 picks a free port)")
	}
	return nil
}

func atLeast(min time.Duration) func(any) error {
	return func(v any) error {
		if d, _ := v.(time.Duration); d < min {
			return fmt.Errorf("must be at least %v", min)
		}
		return nil
	}
}

// OptionsFromConf reads the history server's settings.
func OptionsFromConf(c *conf.Conf) (Options, error) {
	var o Options
	var err error
	o.LogDir = c.String(KeyLogDirectory)
	if err := logDirectory(o.LogDir); err != nil {
		return o, fmt.Errorf("%s: %w", KeyLogDirectory, err)
	}
	if o.UpdateInterval, err = c.Duration(KeyUpdateInterval); err != nil {
		return o, err
	}
	if o.CleanerEnabled, err = c.Bool(KeyCleanerEnabled); err != nil {
		return o, err
	}
	if o.CleanerMaxAge, err = c.Duration(KeyCleanerMaxAge); err != nil {
		return o, err
	}
	if o.CleanerInterval, err = c.Duration(KeyCleanerInterval); err != nil {
		return o, err
	}
	if o.RetainedApps, err = c.Int(KeyRetainedApps); err != nil {
		return o, err
	}
	return o, nil
}

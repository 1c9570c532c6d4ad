// Package logging applies Stoke's log settings (stoke.log.level and
// stoke.log.format, or the --log-level and --log-format flags) to a logrus
// logger, the same way in drivers, daemons and executors.
package logging

import (
	"fmt"
	"time"

	"github.com/sirupsen/logrus"
)

// Formats are the values stoke.log.format takes.
var Formats = []string{"text", "json"}

// Apply sets log's level and format. An empty value leaves that setting as
// it is; an unknown one is an error naming the values allowed.
func Apply(log *logrus.Logger, level, format string) error {
	if level != "" {
		lvl, err := logrus.ParseLevel(level)
		if err != nil {
			return fmt.Errorf("log level %q: use trace, debug, info, warn or error", level)
		}
		log.SetLevel(lvl)
	}
	switch format {
	case "":
	case "text":
		log.SetFormatter(&logrus.TextFormatter{FullTimestamp: true, TimestampFormat: time.RFC3339})
	case "json":
		// One object per line with time, level and msg, and every field
		// at the top level: what log shippers (Fluent Bit, Vector, a
		// YARN or Mesos log aggregator feeding Elasticsearch) expect.
		log.SetFormatter(&logrus.JSONFormatter{TimestampFormat: time.RFC3339Nano})
	default:
		return fmt.Errorf("log format %q: use text or json", format)
	}
	return nil
}

package standalone

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Identifiers that become paths on workers (work directories, logs) or
// znode and file names on the master are made by the master and checked
// against these patterns wherever they arrive.
var (
	appIDPattern      = regexp.MustCompile(`^app-[0-9]{14}-[0-9]{4,9}$`)
	driverIDPattern   = regexp.MustCompile(`^driver-[0-9]{14}-[0-9]{4,9}$`)
	executorIDPattern = regexp.MustCompile(`^[0-9]{1,9}$`)
	workerIDPattern   = regexp.MustCompile(`^worker-[0-9]{14}-[A-Za-z0-9_-]{1,200}$`)
)

const idTimeFormat = "20060102150405"

// ValidAppID says whether id is an application id a master makes.
func ValidAppID(id string) bool { return appIDPattern.MatchString(id) }

// ValidDriverID says whether id is a driver id a master makes.
func ValidDriverID(id string) bool { return driverIDPattern.MatchString(id) }

// ValidExecutorID says whether id is an executor id a master makes.
func ValidExecutorID(id string) bool { return executorIDPattern.MatchString(id) }

// ValidWorkerID says whether id is a worker id a worker makes.
func ValidWorkerID(id string) bool { return workerIDPattern.MatchString(id) }

func newAppID(now time.Time, n int) string {
	return fmt.Sprintf("app-%s-%04d", now.UTC().Format(idTimeFormat), n%1_000_000_000)
}

func newDriverID(now time.Time, n int) string {
	return fmt.Sprintf("driver-%s-%04d", now.UTC().Format(idTimeFormat), n%1_000_000_000)
}

// newWorkerID names a worker after its start time, host and UI port;
// every character outside [A-Za-z0-9-] of the host becomes '_'.
func newWorkerID(now time.Time, host, port string) string {
	clean := strings.Map(func(r rune) rune {
		if r < 128 && (r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return r
		}
		return '_'
	}, host+"-"+port)
	if len(clean) > 180 {
		clean = clean[len(clean)-180:]
	}
	return "worker-" + now.UTC().Format(idTimeFormat) + "-" + clean
}

// quoteID shows an id received from elsewhere in an error, bounded.
func quoteID(id string) string {
	if len(id) > 80 {
		id = id[:80] + "..."
	}
	return fmt.Sprintf("%q", id)
}

package standalone

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/stoke-run/stoke/internal/distfiles"
)

// Bounds on what a client may send the master. The body as a whole is
// limited by maxRequestBytes; these keep single fields and lists small
// enough that nothing a client sends makes the master's state, its
// recovery state or /json grow out of proportion.
const (
	maxRequestBytes = 1 << 20   // one API request body
	maxIDLen        = 256       // worker, application, executor and driver ids
	maxNameLen      = 1024      // application names
	maxHostLen      = 255       // host names and addresses
	maxURLLen       = 2048      // URLs and driver addresses
	maxSecretLen    = 1024      // secrets carried in a request
	maxStateLen     = 32        // state names, log levels
	maxReasonLen    = 8 << 10   // reasons and log paths
	maxListLen      = 4096      // reported executors or drivers, executor ids to kill
	maxArgs         = 4096      // a driver's arguments
	maxArgsBytes    = 256 << 10 // their total size
	maxSubmitEnv    = 128 << 10 // STOKE_SUBMIT_CONF: one environment string (Linux allows 128 KiB)
)

// validator is a request that checks its own bounds; readJSON calls it.
type validator interface{ validate() error }

func checkLen(field, v string, limit int) error {
	if len(v) > limit {
		return fmt.Errorf("%s is %d bytes long, longer than the limit of %d", field, len(v), limit)
	}
	return nil
}

func checkCount(field string, n, limit int) error {
	if n > limit {
		return fmt.Errorf("%s has %d entries, more than the limit of %d", field, n, limit)
	}
	return nil
}

func checkNonNegative(field string, v int64) error {
	if v < 0 {
		return fmt.Errorf("%s is %d; it cannot be negative", field, v)
	}
	return nil
}

func (r WorkerRegistration) validate() error {
	errs := []error{
		checkLen("id", r.ID, maxIDLen),
		checkLen("host", r.Host, maxHostLen),
		checkLen("webUIURL", r.WebUIURL, maxURLLen),
		checkNonNegative("cores", int64(r.Cores)),
		checkNonNegative("memoryMiB", int64(r.MemoryMiB)),
		checkCount("executors", len(r.Executors), maxListLen),
		checkCount("drivers", len(r.Drivers), maxListLen),
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for i, e := range r.Executors {
		if err := e.validate(); err != nil {
			return fmt.Errorf("executors[%d]: %w", i, err)
		}
	}
	for i, d := range r.Drivers {
		if err := d.validate(); err != nil {
			return fmt.Errorf("drivers[%d]: %w", i, err)
		}
	}
	return nil
}

func (e ExecutorReport) validate() error {
	return errors.Join(
		checkLen("appId", e.AppID, maxIDLen),
		checkLen("executorId", e.ExecutorID, maxIDLen),
		checkNonNegative("cores", int64(e.Cores)),
		checkNonNegative("memoryMiB", int64(e.MemoryMiB)),
		checkLen("state", e.State, maxStateLen),
		checkNonNegative("pid", int64(e.PID)),
		checkLen("reason", e.Reason, maxReasonLen),
		checkLen("logPath", e.LogPath, maxReasonLen),
	)
}

func (d DriverReport) validate() error {
	return errors.Join(
		checkLen("driverId", d.DriverID, maxIDLen),
		checkLen("state", d.State, maxStateLen),
		checkNonNegative("pid", int64(d.PID)),
		checkLen("reason", d.Reason, maxReasonLen),
		checkNonNegative("restarts", int64(d.Restarts)),
	)
}

func (p WorkerPoll) validate() error {
	return errors.Join(checkLen("id", p.ID, maxIDLen), checkNonNegative("ack", p.Ack))
}

func (ev WorkerEvent) validate() error {
	if err := checkLen("workerId", ev.WorkerID, maxIDLen); err != nil {
		return err
	}
	if ev.Executor != nil {
		if err := ev.Executor.validate(); err != nil {
			return fmt.Errorf("executor: %w", err)
		}
	}
	if ev.Driver != nil {
		if err := ev.Driver.validate(); err != nil {
			return fmt.Errorf("driver: %w", err)
		}
	}
	return nil
}

func (b BinarySource) validate() error {
	return errors.Join(
		checkLen("binary.url", b.URL, maxURLLen),
		checkLen("binary.sha256", b.SHA256, 64),
		checkLen("binary.secret", b.Secret, maxSecretLen),
	)
}

// maxFiles bounds an application's stoke.files and stoke.archives.
const maxFiles = 100

// executorReserved are the names the worker's own files take in an
// executor's working directory.
var executorReserved = map[string]bool{"stdout": true, "stderr": true}

// validateFiles checks an application's files: each a plain name, unique,
// not the worker's own, with a known archive format or none.
func validateFiles(fs []FileSource) error {
	if len(fs) > maxFiles {
		return fmt.Errorf("files: at most %d, got %d", maxFiles, len(fs))
	}
	seen := map[string]bool{}
	for i, f := range fs {
		if !distfiles.PlainName(f.Name) || executorReserved[f.Name] || seen[f.Name] {
			return fmt.Errorf("files[%d]: %q is not a plain file name of its own in an executor's directory", i, truncateStr(f.Name, 80))
		}
		seen[f.Name] = true
		if f.Format != "" && !slices.Contains(distfiles.ArchiveSuffixes, f.Format) {
			return fmt.Errorf("files[%d]: archive format %q is none of %s", i, truncateStr(f.Format, 20), strings.Join(distfiles.ArchiveSuffixes, ", "))
		}
		if !sha256Hex.MatchString(f.SHA256) {
			return fmt.Errorf("files[%d]: %q is not a SHA-256", i, truncateStr(f.SHA256, 80))
		}
		if err := f.BinarySource.validate(); err != nil {
			return fmt.Errorf("files[%d]: %w", i, err)
		}
	}
	return nil
}

func truncateStr(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func (d AppDescription) validate() error {
	return errors.Join(
		validateFiles(d.Files),
		checkLen("id", d.ID, maxIDLen),
		checkLen("name", d.Name, maxNameLen),
		checkNonNegative("coresPerExecutor", int64(d.CoresPerExecutor)),
		checkNonNegative("memPerExecutorMiB", int64(d.MemPerExecutor)),
		checkNonNegative("maxCores", int64(d.MaxCores)),
		checkLen("driverAddress", d.DriverAddress, maxURLLen),
		checkLen("driverUIURL", d.DriverUIURL, maxURLLen),
		d.Binary.validate(),
		checkLen("secret", d.Secret, maxSecretLen),
		checkLen("logLevel", d.LogLevel, maxStateLen),
		checkLen("driverId", d.DriverID, maxIDLen),
	)
}

func (p AppPoll) validate() error {
	return errors.Join(checkLen("id", p.ID, maxIDLen), checkNonNegative("ack", p.Ack))
}

func (r AppRequest) validate() error {
	return errors.Join(checkLen("id", r.ID, maxIDLen), checkNonNegative("total", int64(r.Total)))
}

func (k AppKill) validate() error {
	if err := errors.Join(checkLen("id", k.ID, maxIDLen), checkCount("executorIds", len(k.ExecutorIDs), maxListLen)); err != nil {
		return err
	}
	for i, id := range k.ExecutorIDs {
		if err := checkLen(fmt.Sprintf("executorIds[%d]", i), id, maxIDLen); err != nil {
			return err
		}
	}
	return nil
}

func (s DriverSubmission) validate() error {
	total := 0
	for _, a := range s.Args {
		total += len(a)
	}
	err := errors.Join(
		checkLen("sha256", s.SHA256, 64),
		checkCount("args", len(s.Args), maxArgs),
		checkNonNegative("cores", int64(s.Cores)),
		checkNonNegative("memoryMiB", int64(s.MemoryMiB)),
		checkLen("submitEnv", s.SubmitEnv, maxSubmitEnv),
	)
	if total > maxArgsBytes {
		err = errors.Join(err, fmt.Errorf("args total %d bytes, more than the limit of %d", total, maxArgsBytes))
	}
	return err
}

func (r DriverRef) validate() error { return checkLen("driverId", r.DriverID, maxIDLen) }

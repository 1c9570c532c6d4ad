package conf

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// Key describes one known configuration key.
type Key struct {
	Name    string
	Default string // "" means no default
	Type    string // TypeString, TypeInt, TypeBool, TypeFloat, TypeDuration or TypeBytes
	Unit    string // unit of a bare number for durations ("ms", "s", ...) and sizes ("b", "m", ...)
	Doc     string

	// Fallback, if set, names the key whose value this key takes when it is
	// not set itself (stoke.locality.wait.node falls back to
	// stoke.locality.wait). Default is then ignored.
	Fallback string

	// Check, if set, validates a value that parsed as Type. It receives the
	// parsed value (int64 for int and bytes, bool, float64, time.Duration,
	// or the trimmed string) and returns why the value is refused.
	Check func(v any) error
}

var registry = struct {
	sync.RWMutex
	keys     map[string]Key
	prefixes map[string]Key // families of keys: "stoke.executorEnv." and a name
}{keys: make(map[string]Key), prefixes: make(map[string]Key)}

// RegisterPrefix declares a family of string keys that end in a name the
// user chooses (k.Name is the prefix, ending in "."): stoke.executorEnv.PATH.
func RegisterPrefix(k Key) {
	if !strings.HasPrefix(k.Name, "stoke.") || !strings.HasSuffix(k.Name, ".") {
		panic(fmt.Sprintf("conf.RegisterPrefix: %q must start with \"stoke.\" and end with \".\"", k.Name))
	}
	k.Type = TypeString
	registry.Lock()
	defer registry.Unlock()
	registry.prefixes[k.Name] = k
}

// WithPrefix returns the entries whose key starts with prefix, keyed by
// the rest of the key.
func (c *Conf) WithPrefix(prefix string) map[string]string {
	out := map[string]string{}
	for _, e := range c.All() {
		if rest, ok := strings.CutPrefix(e.Key, prefix); ok && rest != "" {
			out[rest] = e.Value
		}
	}
	return out
}

// Register adds k to the known keys, replacing an earlier registration of
// the same name, so a backend package can declare its keys from init. It
// panics on a programming error: an empty or non-"stoke." name, an unknown
// Type, or a Default that does not parse as Type or fails Check.
func Register(k Key) {
	if !strings.HasPrefix(k.Name, "stoke.") || len(k.Name) == len("stoke.") {
		panic(fmt.Sprintf("conf.Register: key name %q must start with \"stoke.\"", k.Name))
	}
	if k.Type == "" {
		k.Type = TypeString
	}
	switch k.Type {
	case TypeString, TypeInt, TypeBool, TypeFloat, TypeDuration, TypeBytes:
	default:
		panic(fmt.Sprintf("conf.Register: key %s has unknown type %q", k.Name, k.Type))
	}
	if k.Default != "" {
		v, err := parseTyped(k.Type, k.Default, k.Unit)
		if err == nil && k.Check != nil {
			err = k.Check(v)
		}
		if err != nil {
			panic(fmt.Sprintf("conf.Register: key %s: default %q: %v", k.Name, k.Default, err))
		}
	}
	registry.Lock()
	defer registry.Unlock()
	registry.keys[k.Name] = k
}

// Known returns the registered key called name.
func Known(name string) (Key, bool) {
	registry.RLock()
	defer registry.RUnlock()
	k, ok := registry.keys[name]
	if !ok {
		for p, pk := range registry.prefixes {
			if strings.HasPrefix(name, p) && len(name) > len(p) {
				pk.Name = name
				return pk, true
			}
		}
	}
	return k, ok
}

// Keys returns every registered key, sorted by name.
func Keys() []Key {
	registry.RLock()
	out := make([]Key, 0, len(registry.keys))
	for _, k := range registry.keys {
		out = append(out, k)
	}
	registry.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// fractionOpen accepts a float in (0, 1].
func fractionOpen(v any) error {
	if f := v.(float64); !(f > 0 && f <= 1) {
		return fmt.Errorf("must be in (0, 1], got %v", f)
	}
	return nil
}

// fractionClosed accepts a float in [0, 1].
func fractionClosed(v any) error {
	if f := v.(float64); !(f >= 0 && f <= 1) {
		return fmt.Errorf("must be in [0, 1], got %v", f)
	}
	return nil
}

// OneOf returns a Check accepting only the given values, compared without
// regard to case.
func OneOf(values ...string) func(any) error {
	return func(v any) error {
		s, _ := v.(string)
		for _, ok := range values {
			if strings.EqualFold(s, ok) {
				return nil
			}
		}
		return fmt.Errorf("must be one of %s", strings.Join(values, ", "))
	}
}

// AtLeast returns a Check accepting an int, bytes, duration or float value
// that is at least min (in bytes for sizes, nanoseconds for durations).
func AtLeast(min int64) func(any) error {
	return func(v any) error {
		var ok bool
		switch x := v.(type) {
		case int64:
			ok = x >= min
		case time.Duration:
			ok = int64(x) >= min
		case float64:
			ok = x >= float64(min)
		default:
			return fmt.Errorf("AtLeast: unexpected %T", v)
		}
		if !ok {
			return fmt.Errorf("must be at least %d", min)
		}
		return nil
	}
}

// positive refuses zero and negative numbers and durations.
func positive(v any) error {
	switch x := v.(type) {
	case int64:
		if x > 0 {
			return nil
		}
	case time.Duration:
		if x > 0 {
			return nil
		}
	case float64:
		if x > 0 {
			return nil
		}
	}
	return errors.New("must be greater than zero")
}

func portNumber(v any) error {
	if n, _ := v.(int64); n < 0 || n > 65535 {
		return errors.New("must be a port number from 0 to 65535 (0 picks a free port)")
	}
	return nil
}

func quantile(v any) error {
	if f, _ := v.(float64); f <= 0 || f > 1 {
		return errors.New("must be greater than 0 and at most 1")
	}
	return nil
}

// outputCodec accepts the codec names internal/fsx.ParseCodec knows ("" is
// none too); a test in package stoke keeps the two lists the same.
func outputCodec(v any) error {
	if s, _ := v.(string); s == "" || OneOf("none", "gzip", "zstd")(v) == nil {
		return nil
	}
	return errors.New("unknown compression codec (valid: none, gzip, zstd)")
}

// masterURL keeps ParseMaster's whole message, so the refusal reads
// `cannot parse master URL "..."` with the accepted forms (SPEC §2).
func masterURL(v any) error {
	s, _ := v.(string)
	_, err := ParseMaster(s)
	return err
}

func init() {
	RegisterPrefix(Key{Name: "stoke.executorEnv.", Doc: "stoke.executorEnv.NAME=value: an environment variable of every executor (YARN containers)."})
	atLeast1 := AtLeast(1)
	for _, k := range []Key{
		{Name: "stoke.app.name", Type: TypeString, Doc: "Name of the application, shown in the UI and logs."},
		{Name: "stoke.master", Default: "local[*]", Type: TypeString, Check: masterURL, Doc: "Master URL of the cluster manager (SPEC §2)."},
		{Name: "stoke.submit.deployMode", Default: "client", Type: TypeString, Check: OneOf("client", "cluster"), Doc: "Where the driver runs: client (in the submitting process) or cluster."},
		{Name: "stoke.driver.allowMultipleContexts", Default: "false", Type: TypeBool, Doc: "Allow more than one Context in one process."},
		{Name: "stoke.driver.maxResultSize", Default: "1g", Type: TypeBytes, Unit: "b", Check: AtLeast(0), Doc: "Limit of the total size of results collected by one job; 0 means unlimited."},
		{Name: "stoke.driver.memory", Default: "1g", Type: TypeBytes, Unit: "m", Check: positive, Doc: "Memory of the driver process (bare number: MiB)."},
		{Name: "stoke.driver.cores", Default: "1", Type: TypeInt, Check: atLeast1, Doc: "Cores of the driver in cluster deploy mode."},
		{Name: "stoke.driver.supervise", Default: "false", Type: TypeBool, Doc: "Restart the driver on non-zero exit (standalone cluster deploy mode)."},
		{Name: "stoke.driver.host", Type: TypeString, Doc: "Host name or address executors use to reach the driver."},
		{Name: "stoke.driver.port", Default: "0", Type: TypeInt, Check: portNumber, Doc: "Driver RPC port; 0 picks a free port."},
		{Name: "stoke.driver.bindAddress", Fallback: "stoke.driver.host", Type: TypeString, Doc: "Address the driver listens on (defaults to stoke.driver.host)."},
		{Name: "stoke.executor.memory", Default: "1g", Type: TypeBytes, Unit: "m", Check: positive, Doc: "Memory per executor (bare number: MiB)."},
		{Name: "stoke.executor.cores", Default: "1", Type: TypeInt, Check: atLeast1, Doc: "Cores (task slots × stoke.task.cpus) per executor."},
		{Name: "stoke.executor.instances", Default: "2", Type: TypeInt, Check: AtLeast(0), Doc: "Number of executors (YARN, Mesos, standalone with cores.max)."},
		{Name: "stoke.cores.max", Type: TypeInt, Check: atLeast1, Doc: "Cap on the total cores of the application's executors; unset means no cap."},
		{Name: "stoke.task.cpus", Default: "1", Type: TypeInt, Check: atLeast1, Doc: "Cores each task holds."},
		{Name: "stoke.task.maxFailures", Default: "4", Type: TypeInt, Check: atLeast1, Doc: "Attempts of a task before its job fails."},
		{Name: "stoke.scheduler.mode", Default: "FIFO", Type: TypeString, Check: OneOf("FIFO", "FAIR"), Doc: "Job scheduling mode: FIFO or FAIR."},
		{Name: "stoke.scheduler.allocation.file", Type: TypeString, Doc: "XML file defining the FAIR scheduler pools."},
		{Name: "stoke.scheduler.pool", Type: TypeString, Doc: "Pool for jobs that do not name one (default pool when unset)."},
		{Name: "stoke.locality.wait", Default: "3s", Type: TypeDuration, Unit: "ms", Doc: "How long to wait for a slot at a better locality level."},
		{Name: "stoke.locality.wait.process", Fallback: "stoke.locality.wait", Type: TypeDuration, Unit: "ms", Doc: "Locality wait for process-local slots (defaults to stoke.locality.wait)."},
		{Name: "stoke.locality.wait.node", Fallback: "stoke.locality.wait", Type: TypeDuration, Unit: "ms", Doc: "Locality wait for node-local slots (defaults to stoke.locality.wait)."},
		{Name: "stoke.speculation", Default: "false", Type: TypeBool, Doc: "Run speculative copies of slow tasks."},
		{Name: "stoke.speculation.interval", Default: "100ms", Type: TypeDuration, Unit: "ms", Check: positive, Doc: "How often to look for tasks to speculate."},
		{Name: "stoke.speculation.quantile", Default: "0.75", Type: TypeFloat, Check: quantile, Doc: "Fraction of a stage's tasks that must finish before speculation."},
		{Name: "stoke.speculation.multiplier", Default: "1.5", Type: TypeFloat, Check: positive, Doc: "How many times slower than the median a task must be to be speculated."},
		{Name: "stoke.speculation.minTaskRuntime", Default: "100ms", Type: TypeDuration, Unit: "ms", Check: AtLeast(0), Doc: "Minimum run time before a task is speculated."},
		{Name: "stoke.dynamicAllocation.enabled", Default: "false", Type: TypeBool, Doc: "Grow and shrink the application's executors with its backlog (cluster managers only)."},
		{Name: "stoke.dynamicAllocation.minExecutors", Default: "0", Type: TypeInt, Check: AtLeast(0), Doc: "Dynamic allocation: fewest executors kept."},
		{Name: "stoke.dynamicAllocation.maxExecutors", Type: TypeInt, Check: atLeast1, Doc: "Dynamic allocation: most executors asked for; unset means no limit."},
		{Name: "stoke.dynamicAllocation.initialExecutors", Fallback: "stoke.dynamicAllocation.minExecutors", Type: TypeInt, Check: AtLeast(0), Doc: "Dynamic allocation: executors asked for at start (defaults to minExecutors; a larger stoke.executor.instances wins)."},
		{Name: "stoke.dynamicAllocation.executorAllocationRatio", Default: "1", Type: TypeFloat, Check: fractionOpen, Doc: "Dynamic allocation: fraction of the executors full parallelism needs that is asked for."},
		{Name: "stoke.dynamicAllocation.schedulerBacklogTimeout", Default: "1s", Type: TypeDuration, Unit: "s", Check: positive, Doc: "Dynamic allocation: how long tasks wait before more executors are asked for."},
		{Name: "stoke.dynamicAllocation.sustainedSchedulerBacklogTimeout", Fallback: "stoke.dynamicAllocation.schedulerBacklogTimeout", Type: TypeDuration, Unit: "s", Check: positive, Doc: "Dynamic allocation: interval of further requests while the backlog lasts (defaults to schedulerBacklogTimeout)."},
		{Name: "stoke.dynamicAllocation.executorIdleTimeout", Default: "60s", Type: TypeDuration, Unit: "s", Check: AtLeast(0), Doc: "Dynamic allocation: idle time after which an executor is released."},
		{Name: "stoke.dynamicAllocation.cachedExecutorIdleTimeout", Type: TypeDuration, Unit: "s", Check: AtLeast(0), Doc: "Dynamic allocation: idle time after which an executor holding cached partitions is released; unset means never."},
		{Name: "stoke.dynamicAllocation.shuffleTracking.enabled", Default: "true", Type: TypeBool, Doc: "Dynamic allocation: keep executors whose shuffle output the driver still tracks."},
		{Name: "stoke.dynamicAllocation.shuffleTracking.timeout", Type: TypeDuration, Unit: "ms", Check: AtLeast(0), Doc: "Dynamic allocation: idle time after which an executor holding tracked shuffle output is released anyway; unset means never."},
		{Name: "stoke.decommission.enabled", Default: "false", Type: TypeBool, Doc: "Decommission executors gracefully before releasing them: they take no more tasks and, with stoke.storage.decommission.enabled, move their blocks to executors that stay."},
		{Name: "stoke.storage.decommission.enabled", Default: "false", Type: TypeBool, Doc: "Decommissioning executors move their blocks to executors that stay (with stoke.decommission.enabled)."},
		{Name: "stoke.storage.decommission.shuffleBlocks.enabled", Default: "true", Type: TypeBool, Doc: "Decommissioning executors move their shuffle output, and the driver reads it from where it went: dynamic allocation may then release executors holding shuffle output."},
		{Name: "stoke.shuffle.service.enabled", Default: "false", Type: TypeBool, Doc: "Standalone: executors write their shuffle output where their worker's shuffle service serves it after they are gone (the worker must run the service: stoke.shuffle.service.enabled in its configuration)."},
		{Name: "stoke.shuffle.service.port", Default: "7337", Type: TypeInt, Check: portNumber, Doc: "Port of a standalone worker's shuffle service (0: any free port)."},
		{Name: "stoke.excludeOnFailure.enabled", Default: "false", Type: TypeBool, Doc: "Exclude executors and nodes that keep failing tasks."},
		{Name: "stoke.excludeOnFailure.timeout", Default: "1h", Type: TypeDuration, Unit: "ms", Check: positive, Doc: "How long an application-level exclusion lasts."},
		{Name: "stoke.excludeOnFailure.task.maxTaskAttemptsPerExecutor", Default: "1", Type: TypeInt, Check: atLeast1, Doc: "Failed attempts of a task on one executor before the executor is excluded for that task."},
		{Name: "stoke.excludeOnFailure.task.maxTaskAttemptsPerNode", Default: "2", Type: TypeInt, Check: atLeast1, Doc: "Failed attempts of a task on one node before the node is excluded for that task."},
		{Name: "stoke.excludeOnFailure.stage.maxFailedTasksPerExecutor", Default: "2", Type: TypeInt, Check: atLeast1, Doc: "Failed tasks of a stage on one executor before it is excluded for the stage."},
		{Name: "stoke.excludeOnFailure.stage.maxFailedExecutorsPerNode", Default: "2", Type: TypeInt, Check: atLeast1, Doc: "Excluded executors of a stage on one node before the node is excluded for the stage."},
		{Name: "stoke.excludeOnFailure.application.maxFailedTasksPerExecutor", Default: "2", Type: TypeInt, Check: atLeast1, Doc: "Failed tasks on one executor, in successful stages, before it is excluded for the application."},
		{Name: "stoke.network.timeout", Default: "120s", Type: TypeDuration, Unit: "s", Check: positive, Doc: "Silence after which an executor is considered lost (bare number: seconds)."},
		{Name: "stoke.executor.heartbeatInterval", Default: "10s", Type: TypeDuration, Unit: "ms", Check: positive, Doc: "Interval between executor heartbeats; must be less than stoke.network.timeout."},
		{Name: "stoke.ui.enabled", Default: "true", Type: TypeBool, Doc: "Serve the driver web UI."},
		{Name: "stoke.ui.port", Default: "4040", Type: TypeInt, Check: portNumber, Doc: "Port of the driver web UI (next free port if taken)."},
		{Name: "stoke.files", Type: TypeString, Doc: "Comma-separated paths (path[#name]) copied into every executor's working directory (YARN, Mesos, standalone): local paths; hdfs:// URIs on YARN and Mesos; http(s):// URIs on Mesos (stoke submit --files)."},
		{Name: "stoke.archives", Type: TypeString, Doc: "Comma-separated archives (.zip, .tar.gz, .tgz, .tar, .jar; path[#name]) unpacked into a directory of that name in every executor's working directory (YARN, Mesos, standalone) (stoke submit --archives)."},
		{Name: "stoke.ui.killEnabled", Default: "true", Type: TypeBool, Doc: "Kill buttons for running jobs and stages in the web UI (with a configured stoke.authenticate.secret they ask for it)."},
		{Name: "stoke.ui.showConsoleProgress", Default: "true", Type: TypeBool, Doc: "Show a progress bar on stderr when it is a terminal."},
		{Name: "stoke.eventLog.enabled", Default: "false", Type: TypeBool, Doc: "Write a JSON-lines event log."},
		{Name: "stoke.eventLog.dir", Default: "/tmp/stoke-events", Type: TypeString, Doc: "Directory of event logs."},
		{Name: "stoke.eventLog.compress", Default: "false", Type: TypeBool, Doc: "Compress the event log with zstd (<appId>.jsonl.zst); the history server and `stoke history` read both."},
		{Name: "stoke.eventLog.rolling.enabled", Default: "false", Type: TypeBool, Doc: "Write the event log as a directory of parts (<appId>.rolling/events-00001.jsonl, ...), a new part each stoke.eventLog.rolling.maxFileSize."},
		{Name: "stoke.eventLog.rolling.maxFileSize", Default: "128m", Type: TypeBytes, Unit: "b", Check: AtLeast(1 << 20), Doc: "Event text (before compression) per part of a rolling event log; at least 1m."},
		{Name: "stoke.driver.handleSignals", Default: "true", Type: TypeBool, Doc: "The driver ends the application cleanly on the first SIGINT or SIGTERM (jobs cancelled, event log closed with its end, exit code 130 or 143); a second signal exits at once. Set false if the program handles signals itself."},
		{Name: "stoke.log.level", Default: "info", Type: TypeString, Check: OneOf("trace", "debug", "info", "warn", "error"), Doc: "Log level: trace, debug, info, warn or error."},
		{Name: "stoke.log.format", Default: "text", Type: TypeString, Check: OneOf("text", "json"), Doc: "Log format of the driver, its executors and the daemons: text (logrus key=value lines) or json (one object per line)."},
		{Name: "stoke.authenticate.secret", Type: TypeString, Doc: "Shared secret of the application (generated when unset)."},
		{Name: "stoke.default.parallelism", Type: TypeInt, Check: atLeast1, Doc: "Default number of partitions (total executor cores when unset)."},
		{Name: "stoke.memory.fraction", Default: "0.6", Type: TypeFloat, Check: fractionOpen, Doc: "Fraction of (executor memory - reserved) shared by execution (shuffles, aggregation, sort) and storage (cached partitions)."},
		{Name: "stoke.memory.storageFraction", Default: "0.5", Type: TypeFloat, Check: fractionClosed, Doc: "Part of the unified memory where cached partitions are safe from eviction by execution."},
		{Name: "stoke.memory.reserved", Type: TypeBytes, Unit: "b", Check: AtLeast(0), Doc: "Memory set aside outside the unified region (default min(300 MiB, a quarter of executor memory))."},
		{Name: "stoke.shuffle.spill.compress", Default: "true", Type: TypeBool, Doc: "Compress spill runs."},
		{Name: "stoke.io.compression.codec", Default: "zstd", Type: TypeString, Check: OneOf("zstd", "gzip", "none"), Doc: "Codec of spill runs: zstd, gzip or none."},
		{Name: "stoke.output.compression.codec", Type: TypeString, Check: outputCodec, Doc: "Codec of the part files SaveAsTextFile writes: none, gzip (part-00000.gz) or zstd (.zst); stoke.Compress overrides it for one save."},
		{Name: "stoke.rdd.limit.scaleUpFactor", Default: "4", Type: TypeInt, Check: AtLeast(2), Doc: "Take and First: how many times more partitions each round scans than all earlier rounds."},
		{Name: "stoke.local.dir", Type: TypeString, Doc: "Scratch directories, comma-separated, for spills and disk-cached blocks (system temp dir when unset); on YARN, a standalone worker and Mesos the cluster manager's directories win, as in Spark."},
		{Name: "stoke.rpc.message.maxSize", Default: "128m", Type: TypeBytes, Unit: "m", Check: positive, Doc: "Largest RPC message (bare number: MiB)."},
		{Name: "stoke.port.maxRetries", Default: "16", Type: TypeInt, Check: AtLeast(0), Doc: "How many successive ports to try when a port is taken."},
		{Name: "stoke.deploy.spreadOut", Default: "true", Type: TypeBool, Doc: "Standalone: spread executors across workers instead of packing them."},
		{Name: "stoke.kerberos.principal", Type: TypeString, Doc: "Kerberos principal to log in as, with stoke.kerberos.keytab (default: the ticket cache, KRB5CCNAME)."},
		{Name: "stoke.kerberos.keytab", Type: TypeString, Doc: "Keytab of stoke.kerberos.principal."},
		{Name: "stoke.yarn.queue", Default: "default", Type: TypeString, Doc: "YARN queue to submit to."},
		{Name: "stoke.mesos.coarse", Default: "true", Type: TypeBool, Doc: "Mesos: coarse-grained (long-running executors) instead of fine-grained."},
	} {
		Register(k)
	}
}

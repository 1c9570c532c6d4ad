package conf

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestValidateErrors(t *testing.T) {
	c := New()
	c.Set("stoke.task.maxFailures", "abc", SourceConfFlag)
	c.Set("stoke.speculation.quantile", "1.5", SourceCode)
	c.Set("stoke.scheduler.mode", "ROUNDROBIN", SourcePropertiesFile)
	c.Set("stoke.log.level", "verbose", SourceCode)
	c.Set("stoke.master", "local[0]", SourceSubmit)
	c.Set("stoke.submit.deployMode", "server", SourceSubmit)
	c.Set("stoke.speculation.multiplier", "0", SourceCode)
	c.Set("stoke.ui.port", "70000", SourceCode)
	c.Set("stoke.network.timeout", "soon", SourceCode)
	c.Set("stoke.executor.memory", "lots", SourceCode)
	c.Set("stoke.eventLog.enabled", "1", SourceCode)
	c.Set("other.key", "whatever", SourceCode) // not checked
	_, err := c.Validate()
	if err == nil {
		t.Fatal("Validate accepted bad values")
	}
	msg := err.Error()
	for _, want := range []string{
		`invalid value "abc" for stoke.task.maxFailures: not an integer`,
		`invalid value "1.5" for stoke.speculation.quantile: must be greater than 0 and at most 1`,
		`invalid value "ROUNDROBIN" for stoke.scheduler.mode: must be one of FIFO, FAIR`,
		`invalid value "verbose" for stoke.log.level: must be one of trace, debug, info, warn, error`,
		`invalid value "local[0]" for stoke.master: cannot parse master URL "local[0]": task slot count N must be at least 1`,
		`invalid value "server" for stoke.submit.deployMode`,
		`invalid value "0" for stoke.speculation.multiplier: must be greater than zero`,
		`invalid value "70000" for stoke.ui.port: must be a port number`,
		`invalid value "soon" for stoke.network.timeout`,
		`invalid value "lots" for stoke.executor.memory`,
		`invalid value "1" for stoke.eventLog.enabled: expected true or false`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("Validate error lacks %q; got:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "other.key") {
		t.Errorf("non-stoke key was checked: %s", msg)
	}
	var ve *ValueError
	if !errors.As(err, &ve) {
		t.Errorf("errors.As(*ValueError) failed on %v", err)
	}
}

func TestValidateAcceptsGoodValues(t *testing.T) {
	c := New()
	for k, v := range map[string]string{
		"stoke.scheduler.mode":       "fair",
		"stoke.log.level":            "DEBUG",
		"stoke.master":               "stoke://a:7077,b",
		"stoke.speculation.quantile": "1",
		"stoke.task.maxFailures":     "1",
		"stoke.executor.memory":      "4g",
		"stoke.driver.maxResultSize": "0",
		"stoke.executor.cores":       "4",
		"stoke.task.cpus":            "2",
		"stoke.locality.wait.node":   "0",
		"my.app.setting":             "x",
	} {
		c.Set(k, v, SourceCode)
	}
	warns, err := c.Validate()
	if err != nil || len(warns) != 0 {
		t.Fatalf("Validate = %v, %v; want no warnings or errors", warns, err)
	}
}

func TestValidateCrossChecks(t *testing.T) {
	c := New()
	c.Set("stoke.task.cpus", "4", SourceCode)
	_, err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "stoke.executor.cores (1) must be at least stoke.task.cpus (4)") {
		t.Errorf("cores < task.cpus: err = %v", err)
	}
	c = New()
	c.Set("stoke.network.timeout", "5s", SourceCode)
	_, err = c.Validate()
	if err == nil || !strings.Contains(err.Error(), "heartbeatInterval (10s) must be less than stoke.network.timeout (5s)") {
		t.Errorf("heartbeat >= timeout: err = %v", err)
	}
}

func TestValidateUnknownKeysWarn(t *testing.T) {
	c := New()
	c.Set("stoke.task.maxFailure", "3", SourceConfFlag)
	c.Set("stoke.executor.memroy", "2g", SourcePropertiesFile)
	c.Set("stoke.Speculation", "true", SourceCode)
	c.Set("stoke.completely.different.thing", "1", SourceCode)
	c.Set("other.tool.key", "1", SourceCode) // not ours: ignored
	warns, err := c.Validate()
	if err != nil {
		t.Fatalf("unknown keys must not be errors: %v", err)
	}
	all := strings.Join(warns, "\n")
	for _, want := range []string{
		"unknown configuration key stoke.task.maxFailure (set from --conf); did you mean stoke.task.maxFailures?",
		"unknown configuration key stoke.executor.memroy (set from properties file); did you mean stoke.executor.memory?",
		"stoke.Speculation (set from code); did you mean stoke.speculation?",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("warnings lack %q; got:\n%s", want, all)
		}
	}
	if len(warns) != 4 {
		t.Errorf("got %d warnings, want 4:\n%s", len(warns), all)
	}
	for _, w := range warns {
		if strings.Contains(w, "stoke.completely.different.thing") && strings.Contains(w, "did you mean") {
			t.Errorf("far-off key got a suggestion: %s", w)
		}
		if strings.Contains(w, "other.tool") {
			t.Errorf("a key of another tool warned: %s", w)
		}
	}
}

// A Spark key passes no more silently: the warning names the stoke.* key
// that does what the user meant.
func TestValidateSparkKeysWarn(t *testing.T) {
	c := New()
	c.Set("spark.executor.memory", "2g", SourceConfFlag)
	c.Set("spark.speculatoin", "true", SourcePropertiesFile)
	c.Set("spark.sql.shuffle.partitions", "200", SourceCode)
	warns, err := c.Validate()
	if err != nil {
		t.Fatalf("spark keys must not be errors: %v", err)
	}
	all := strings.Join(warns, "\n")
	for _, want := range []string{
		"spark.executor.memory is a Spark key and has no effect here (set from --conf); Stoke's key is stoke.executor.memory",
		"spark.speculatoin is a Spark key and has no effect here (set from properties file); the closest Stoke key is stoke.speculation",
		"spark.sql.shuffle.partitions is a Spark key and has no effect here (set from code); Stoke's keys start with stoke.",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("warnings lack %q; got:\n%s", want, all)
		}
	}
	if len(warns) != 3 {
		t.Errorf("got %d warnings, want 3:\n%s", len(warns), all)
	}
}

func TestRedacted(t *testing.T) {
	c := New()
	c.Set("stoke.authenticate.secret", "s3cr3t", SourceSubmit)
	c.Set("stoke.ssl.keyPassword", "pw", SourceCode)
	c.Set("stoke.yarn.TOKEN.renewal", "tok", SourceCode)
	c.Set("stoke.kerberos.keytab", "/etc/x.keytab", SourceCode)
	c.Set("stoke.app.name", "demo", SourceCode)
	red := c.Redacted()
	if len(red) != 5 {
		t.Fatalf("Redacted returned %d entries", len(red))
	}
	for _, e := range red {
		hidden := e.Value == RedactedValue
		if hidden != (e.Key != "stoke.app.name") {
			t.Errorf("%s shown as %q", e.Key, e.Value)
		}
	}
	if v, _ := c.Get("stoke.authenticate.secret"); v != "s3cr3t" {
		t.Errorf("Redacted changed the stored value: %q", v)
	}
	if RedactedValue != "*********(redacted)" {
		t.Errorf("RedactedValue = %q", RedactedValue)
	}
}

func TestAllSortedSetOnlyAndClone(t *testing.T) {
	c := New()
	c.Set("stoke.b", "2", SourceCode)
	c.Set("stoke.a", "1", SourceConfFlag)
	c.Set("stoke.b", "3", SourceSubmit)
	all := c.All()
	want := []Entry{{"stoke.a", "1", SourceConfFlag}, {"stoke.b", "3", SourceSubmit}}
	if fmt.Sprint(all) != fmt.Sprint(want) {
		t.Errorf("All = %v, want %v", all, want)
	}
	d := c.Clone()
	d.Set("stoke.a", "changed", SourceCode)
	if v, _ := c.Get("stoke.a"); v != "1" {
		t.Errorf("Clone shares storage: original now %q", v)
	}
	if c.SourceOf("stoke.b") != SourceSubmit || c.SourceOf("stoke.task.cpus") != SourceDefault {
		t.Errorf("SourceOf wrong")
	}
}

func TestConcurrentUse(t *testing.T) {
	c := New()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 200 {
				c.Set(fmt.Sprintf("stoke.x%d", i), fmt.Sprint(j), SourceCode)
				_, _ = c.Int("stoke.task.maxFailures")
				_ = c.All()
				_ = c.Clone()
				_, _ = c.Validate()
			}
		}()
	}
	wg.Wait()
}

func TestNotSet(t *testing.T) {
	c := New()
	_, err := c.Int("stoke.default.parallelism")
	if !errors.Is(err, ErrNotSet) {
		t.Errorf("err = %v; want ErrNotSet", err)
	}
	var ns *NotSetError
	if !errors.As(err, &ns) || ns.Key != "stoke.default.parallelism" {
		t.Errorf("errors.As NotSetError: %v", err)
	}
	c.Set("stoke.default.parallelism", "8", SourceCode)
	if n, err := c.Int("stoke.default.parallelism"); n != 8 || err != nil {
		t.Errorf("after Set: %d, %v", n, err)
	}
}

func TestRegister(t *testing.T) {
	Register(Key{Name: "stoke.test.widgets", Default: "3", Type: TypeInt, Check: AtLeast(2), Doc: "test"})
	k, ok := Known("stoke.test.widgets")
	if !ok || k.Default != "3" {
		t.Fatalf("Known = %+v, %v", k, ok)
	}
	c := New()
	if n, err := c.Int("stoke.test.widgets"); n != 3 || err != nil {
		t.Errorf("default = %d, %v", n, err)
	}
	c.Set("stoke.test.widgets", "1", SourceCode)
	if _, err := c.Validate(); err == nil || !strings.Contains(err.Error(), "must be at least 2") {
		t.Errorf("Validate = %v", err)
	}
	found := false
	prev := ""
	for _, k := range Keys() {
		if k.Name <= prev {
			t.Errorf("Keys not sorted: %s after %s", k.Name, prev)
		}
		prev = k.Name
		found = found || k.Name == "stoke.test.widgets"
	}
	if !found {
		t.Error("Keys lacks the registered key")
	}

	for _, bad := range []Key{
		{Name: "", Type: TypeInt},
		{Name: "spark.x", Type: TypeInt},
		{Name: "stoke.", Type: TypeInt},
		{Name: "stoke.x", Type: "complex"},
		{Name: "stoke.x", Type: TypeInt, Default: "many"},
		{Name: "stoke.x", Type: TypeInt, Default: "0", Check: AtLeast(1)},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%+v) did not panic", bad)
				}
			}()
			Register(bad)
		}()
	}
}

func TestRegisteredDefaults(t *testing.T) {
	want := map[string]string{
		"stoke.master": "local[*]", "stoke.submit.deployMode": "client", "stoke.driver.allowMultipleContexts": "false",
		"stoke.driver.maxResultSize": "1g", "stoke.driver.memory": "1g", "stoke.driver.port": "0",
		"stoke.executor.memory": "1g", "stoke.executor.cores": "1", "stoke.executor.instances": "2",
		"stoke.task.cpus": "1", "stoke.task.maxFailures": "4", "stoke.scheduler.mode": "FIFO",
		"stoke.locality.wait": "3s", "stoke.speculation": "false", "stoke.speculation.interval": "100ms",
		"stoke.speculation.quantile": "0.75", "stoke.speculation.multiplier": "1.5",
		"stoke.speculation.minTaskRuntime": "100ms", "stoke.excludeOnFailure.enabled": "false",
		"stoke.excludeOnFailure.timeout": "1h", "stoke.excludeOnFailure.task.maxTaskAttemptsPerExecutor": "1",
		"stoke.excludeOnFailure.task.maxTaskAttemptsPerNode": "2", "stoke.excludeOnFailure.stage.maxFailedTasksPerExecutor": "2",
		"stoke.excludeOnFailure.stage.maxFailedExecutorsPerNode": "2", "stoke.excludeOnFailure.application.maxFailedTasksPerExecutor": "2",
		"stoke.network.timeout": "120s", "stoke.executor.heartbeatInterval": "10s", "stoke.ui.enabled": "true",
		"stoke.ui.port": "4040", "stoke.ui.showConsoleProgress": "true", "stoke.eventLog.enabled": "false",
		"stoke.eventLog.dir": "/tmp/stoke-events", "stoke.log.level": "info", "stoke.rpc.message.maxSize": "128m",
		"stoke.port.maxRetries": "16", "stoke.deploy.spreadOut": "true", "stoke.yarn.queue": "default",
		"stoke.mesos.coarse": "true",
		"stoke.app.name":     "", "stoke.driver.host": "", "stoke.driver.bindAddress": "", "stoke.cores.max": "",
		"stoke.scheduler.allocation.file": "", "stoke.scheduler.pool": "", "stoke.locality.wait.process": "",
		"stoke.locality.wait.node": "", "stoke.authenticate.secret": "", "stoke.default.parallelism": "",
		"stoke.local.dir": "",
	}
	for name, def := range want {
		k, ok := Known(name)
		if !ok {
			t.Errorf("%s is not registered", name)
			continue
		}
		if k.Default != def {
			t.Errorf("%s default = %q, want %q", name, k.Default, def)
		}
		if k.Doc == "" {
			t.Errorf("%s has no Doc", name)
		}
	}
	// Every default must pass Validate when set explicitly.
	c := New()
	for _, k := range Keys() {
		if k.Default != "" {
			c.Set(k.Name, k.Default, SourceCode)
		}
	}
	if _, err := c.Validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
}

func TestIsSensitive(t *testing.T) {
	for _, k := range []string{"stoke.authenticate.secret", "stoke.mesos.secret.file", "STOKE.SSL.KEYPASSWORD", "stoke.kerberos.keytab",
		"fs.s3a.access.key", "fs.s3a.secret.key", "fs.azure.account.key.acct.blob.core.windows.net", "hadoop.security.credential.provider.path", "x.token"} {
		if !IsSensitive(k) {
			t.Errorf("IsSensitive(%q) = false", k)
		}
	}
	for _, k := range []string{"stoke.app.name", "stoke.executor.memory", "stoke.master", "fs.defaultFS", "stoke.keys"} {
		if IsSensitive(k) {
			t.Errorf("IsSensitive(%q) = true", k)
		}
	}
}

func TestValidateDynamicAllocation(t *testing.T) {
	bad := func(kv map[string]string, want string) {
		t.Helper()
		c := New()
		c.Set("stoke.dynamicAllocation.enabled", "true", SourceCode)
		for k, v := range kv {
			c.Set(k, v, SourceConfFlag)
		}
		_, err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: err = %v, want one containing %q", kv, err, want)
		}
	}
	const p = "stoke.dynamicAllocation."
	bad(map[string]string{p + "minExecutors": "5", p + "maxExecutors": "3", p + "initialExecutors": "3"},
		"stoke.dynamicAllocation.minExecutors (5) must not be greater than stoke.dynamicAllocation.maxExecutors (3)")
	bad(map[string]string{p + "minExecutors": "2", p + "initialExecutors": "1"},
		"stoke.dynamicAllocation.initialExecutors (1) must be at least stoke.dynamicAllocation.minExecutors (2)")
	bad(map[string]string{p + "maxExecutors": "4", p + "initialExecutors": "6"},
		"stoke.dynamicAllocation.initialExecutors (6) must be between stoke.dynamicAllocation.minExecutors (0) and stoke.dynamicAllocation.maxExecutors (4)")
	bad(map[string]string{p + "minExecutors": "-1"}, `invalid value "-1" for stoke.dynamicAllocation.minExecutors: must be at least 0`)
	bad(map[string]string{p + "maxExecutors": "0"}, `invalid value "0" for stoke.dynamicAllocation.maxExecutors: must be at least 1`)
	bad(map[string]string{p + "executorIdleTimeout": "-5s"}, `invalid value "-5s" for stoke.dynamicAllocation.executorIdleTimeout`)
	bad(map[string]string{p + "cachedExecutorIdleTimeout": "-1"}, `invalid value "-1" for stoke.dynamicAllocation.cachedExecutorIdleTimeout`)
	bad(map[string]string{p + "shuffleTracking.timeout": "-1ms"}, `invalid value "-1ms" for stoke.dynamicAllocation.shuffleTracking.timeout`)
	bad(map[string]string{p + "schedulerBacklogTimeout": "0"}, `invalid value "0" for stoke.dynamicAllocation.schedulerBacklogTimeout: must be greater than zero`)
	bad(map[string]string{p + "sustainedSchedulerBacklogTimeout": "0s"}, `invalid value "0s" for stoke.dynamicAllocation.sustainedSchedulerBacklogTimeout`)
	bad(map[string]string{p + "executorAllocationRatio": "1.5"}, `invalid value "1.5" for stoke.dynamicAllocation.executorAllocationRatio: must be in (0, 1]`)
	bad(map[string]string{p + "enabled": "yes please"}, `invalid value "yes please" for stoke.dynamicAllocation.enabled`)
	bad(map[string]string{"stoke.decommission.enabled": "maybe"}, `invalid value "maybe" for stoke.decommission.enabled`)
	bad(map[string]string{"stoke.storage.decommission.enabled": "2"}, `invalid value "2" for stoke.storage.decommission.enabled`)
	bad(map[string]string{"stoke.storage.decommission.shuffleBlocks.enabled": "on-ish"}, `invalid value "on-ish" for stoke.storage.decommission.shuffleBlocks.enabled`)
	bad(map[string]string{"stoke.shuffle.service.enabled": "yes please"}, `invalid value "yes please" for stoke.shuffle.service.enabled`)
	bad(map[string]string{"stoke.shuffle.service.port": "70000"}, `invalid value "70000" for stoke.shuffle.service.port: must be a port number`)
	bad(map[string]string{"stoke.shuffle.service.port": "-1"}, `invalid value "-1" for stoke.shuffle.service.port`)

	// Disabled, the bounds are not cross-checked; good bounds pass.
	c := New()
	c.Set(p+"minExecutors", "5", SourceCode)
	c.Set(p+"maxExecutors", "3", SourceCode)
	if _, err := c.Validate(); err != nil {
		t.Errorf("disabled dynamic allocation: bounds checked: %v", err)
	}
	c.Set(p+"enabled", "true", SourceCode)
	c.Set(p+"maxExecutors", "8", SourceCode)
	c.Set(p+"initialExecutors", "6", SourceCode)
	if _, err := c.Validate(); err != nil {
		t.Errorf("good bounds refused: %v", err)
	}
	// initialExecutors falls back to minExecutors, the sustained timeout
	// to the first one.
	c = New()
	c.Set(p+"minExecutors", "3", SourceCode)
	c.Set(p+"schedulerBacklogTimeout", "2", SourceCode)
	if n, err := c.Int(p + "initialExecutors"); err != nil || n != 3 {
		t.Errorf("initialExecutors = %d, %v; want minExecutors 3", n, err)
	}
	if d, err := c.Duration(p + "sustainedSchedulerBacklogTimeout"); err != nil || d != 2*time.Second {
		t.Errorf("sustainedSchedulerBacklogTimeout = %v, %v; want 2s", d, err)
	}
}

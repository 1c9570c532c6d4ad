package stoke

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/stoke-run/stoke/backend"
	"github.com/stoke-run/stoke/backend/local"
	"github.com/stoke-run/stoke/driver"
	"github.com/stoke-run/stoke/executor"
	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/internal/events"
	"github.com/stoke-run/stoke/internal/fsx"
	"github.com/stoke-run/stoke/internal/hadoop/krb"
	"github.com/stoke-run/stoke/internal/logging"
	"github.com/stoke-run/stoke/internal/registry"
	"github.com/stoke-run/stoke/mesos"
	"github.com/stoke-run/stoke/standalone"
	"github.com/stoke-run/stoke/yarn"
)

// Config holds configuration set in code: the highest precedence, above
// `stoke submit` flags and the properties file.
type Config map[string]string

// Context is an application's connection to its executors. Create one with
// New; it is safe for concurrent use by many goroutines.
type Context struct {
	d        *driver.Context
	be       backend.Backend
	unsignal func() // stops the SIGINT/SIGTERM handler (stoke.driver.handleSignals)
}

// Option changes how New builds the Context (mostly for tests and tools).
type Option func(*options)

type options struct {
	backend   backend.Backend
	listeners []events.Listener
	log       *logrus.Logger
}

// WithBackend runs the application on the given backend instead of the one
// the master URL names.
func WithBackend(b backend.Backend) Option { return func(o *options) { o.backend = b } }

// WithListener receives every event of the run.
func WithListener(l events.Listener) Option {
	return func(o *options) { o.listeners = append(o.listeners, l) }
}

// WithLogger logs through l.
func WithLogger(l *logrus.Logger) Option { return func(o *options) { o.log = l } }

// New starts the driver. In an executor process (started by a cluster
// manager) it never returns: it runs the executor and exits.
func New(cfg Config, opts ...Option) (*Context, error) {
	RunIfExecutor()
	// A driver the Mesos dispatcher started redeems its secret settings.
	if err := mesos.EnvFromGrant(); err != nil {
		return nil, err
	}
	// ... and unpacks the archives its task fetched (stoke.archives).
	if err := mesos.UnpackArchives(); err != nil {
		return nil, err
	}
	var o options
	for _, f := range opts {
		f(&o)
	}
	c, warnings, err := conf.Resolve(cfg)
	if err != nil {
		return nil, err
	}
	log := o.log
	if log == nil {
		log = logrus.New()
		log.SetOutput(os.Stderr)
	}
	if err := logging.Apply(log, c.String("stoke.log.level"), c.String("stoke.log.format")); err != nil {
		return nil, err
	}
	for _, w := range warnings {
		log.Warn(w)
	}
	registry.Freeze()
	for _, line := range registry.CodecReport() {
		if i := strings.Index(line, ": gob ("); i >= 0 {
			// Records of these types cross shuffles and results through
			// gob, several times slower than the typed codec.
			log.Infof("element type %s is encoded with gob%s", line[:i], line[i+len(": gob"):])
		}
	}
	if p, kt := c.String("stoke.kerberos.principal"), c.String("stoke.kerberos.keytab"); p != "" || kt != "" {
		if p == "" || kt == "" {
			return nil, fmt.Errorf("stoke.kerberos.principal and stoke.kerberos.keytab go together (--principal and --keytab); without both, the ticket cache (KRB5CCNAME) is used")
		}
		fsx.UseKerberos(krb.LoginOptions{Principal: p, Keytab: kt})
	}
	be := o.backend
	if be == nil {
		be, err = backendFor(c, log)
		if err != nil {
			return nil, err
		}
	}
	d, err := driver.New(driver.Options{Conf: c, Backend: be, Log: log, Listeners: o.listeners})
	if err != nil {
		return nil, err
	}
	sc := &Context{d: d, be: be}
	if on, _ := c.Bool("stoke.driver.handleSignals"); on {
		sc.unsignal = d.HandleSignals()
	}
	return sc, nil
}

// backendFor picks the cluster manager the master URL names.
func backendFor(c *conf.Conf, log *logrus.Logger) (backend.Backend, error) {
	m, err := conf.ParseMaster(c.String("stoke.master"))
	if err != nil {
		return nil, err
	}
	switch m.Kind {
	case conf.Local:
		slots := m.Slots
		if slots == 0 {
			slots = runtime.NumCPU()
		}
		b := local.NewInProcess(slots)
		// One executor inside the driver process: its memory is the
		// driver's.
		mem, err := c.Bytes("stoke.driver.memory")
		if err != nil {
			return nil, err
		}
		// The driver process is the executor: bound it as one (not below
		// 256 MiB: the limit is the whole process's, and a program may
		// start contexts with small test memories).
		if mem >= 256<<20 {
			executor.TuneRuntime(mem)
		}
		b.Resources = func(id string) (*executor.Resources, error) { return executor.NewResources(c.Get, id, mem) }
		return b, nil
	case conf.LocalCluster:
		// A real standalone master and N workers for the application's
		// lifetime; executors are processes.
		lc, err := standalone.NewLocalCluster(m, c, log)
		if err != nil {
			return nil, err
		}
		return lc, nil
	case conf.Standalone:
		cl, err := standalone.NewClient(m, c, log)
		if err != nil {
			return nil, err
		}
		return cl, nil
	case conf.Mesos:
		mb, err := mesos.New(m, c, log)
		if err != nil {
			return nil, err
		}
		return mb, nil
	case conf.YARN:
		yb, err := yarn.New(m, c, log)
		if err != nil {
			return nil, err
		}
		return yb, nil
	}
	return nil, fmt.Errorf("master %q: the %s cluster manager is not available in this build yet", m.Raw, m.Kind)
}

// RunIfExecutor turns this process into an executor when a cluster manager
// started it as one: it serves tasks until the driver lets it go, then exits
// the process. Otherwise it returns at once. New calls it; a test binary
// whose tests start executor processes calls it first thing in TestMain.
func RunIfExecutor() {
	if yarn.IsAM() {
		// A YARN application master: in cluster mode it runs this program again as the
		// driver, in a child process.
		os.Exit(yarn.RunAM())
	}
	if !executor.IsExecutorProcess() {
		return
	}
	registry.Freeze()
	// Mesos shows task environments on its state endpoints: an executor it
	// started redeems its secret from a one-time grant.
	if err := mesos.EnvFromGrant(); err != nil {
		fmt.Fprintln(os.Stderr, "stoke executor:", err)
		os.Exit(2)
	}
	// The Mesos fetcher leaves stoke.archives packed: unpack them under
	// their names before any task runs.
	if err := mesos.UnpackArchives(); err != nil {
		fmt.Fprintln(os.Stderr, "stoke executor:", err)
		os.Exit(executor.ExitConfig)
	}
	if mesos.IsFineExecutor() {
		// A Mesos fine-grained executor: a Stoke executor that is also a
		// custom Mesos executor on the agent's v1 executor API.
		os.Exit(mesos.RunFineExecutor())
	}
	if err := yarn.ExecutorSecretFromTokens(); err != nil {
		fmt.Fprintln(os.Stderr, "stoke executor:", err)
		os.Exit(executor.ExitConfig)
	}
	cfg, err := executor.ConfigFromEnv()
	if err != nil {
		fmt.Fprintln(os.Stderr, "stoke executor:", err)
		os.Exit(executor.ExitConfig)
	}
	if yarn.InContainer() {
		cfg.OnCredentials = yarn.UpdateContainerTokens
	}
	ctx, signalled := executor.SignalContext()
	err = executor.RunProcess(ctx, cfg)
	signalled()
	if err != nil {
		fmt.Fprintln(os.Stderr, "stoke executor:", err)
		os.Exit(executor.ExitCode(err))
	}
	os.Exit(0)
}

// Stop ends the application: running jobs fail, executors are released.
func (sc *Context) Stop() error {
	if sc.unsignal != nil {
		sc.unsignal()
	}
	return sc.d.Stop()
}

// AppID is the cluster manager's id of the application.
func (sc *Context) AppID() string { return sc.d.AppID() }

// UIURL is the address of the driver's web UI, or "" when it is off.
func (sc *Context) UIURL() string { return sc.d.UIURL() }

// DefaultParallelism is the default number of partitions.
func (sc *Context) DefaultParallelism() int { return sc.d.DefaultParallelism() }

// Driver exposes the underlying driver (for tools and tests).
func (sc *Context) Driver() *driver.Context { return sc.d }

// Backend is the cluster manager backend in use.
func (sc *Context) Backend() backend.Backend { return sc.be }

// WithPool returns a context whose jobs run in the named FAIR pool.
func WithPool(ctx context.Context, pool string) context.Context { return driver.WithPool(ctx, pool) }

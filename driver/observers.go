package driver

import (
	"os"
	"strings"
	"sync"
	"time"

	"github.com/stoke-run/stoke/driver/sched"
	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/internal/eventlog"
	"github.com/stoke-run/stoke/internal/events"
	"github.com/stoke-run/stoke/internal/progress"
	"github.com/stoke-run/stoke/internal/ui"
)

// observers are everything that watches the run: the event bus and its
// listeners (UI store, event log, progress bar, test listeners).
type observers struct {
	bus    *events.Bus
	store  *ui.Store
	server *ui.Server
	log    *deferredLog
	bar    *progress.Bar
}

// deferredLog holds events until the application id (the event log's file
// name) is known: executors may register while the backend starts.
type deferredLog struct {
	opts    eventlog.WriterOptions
	mu      sync.Mutex
	w       *eventlog.Writer
	pending []events.Event
}

func (d *deferredLog) OnEvent(e events.Event) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.w == nil {
		d.pending = append(d.pending, e)
		return
	}
	d.w.OnEvent(e)
}

func (d *deferredLog) open(dir, appID string) error {
	w, err := eventlog.NewWriterOptions(dir, appID, d.opts)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, e := range d.pending {
		w.OnEvent(e)
	}
	d.pending = nil
	d.w = w
	return nil
}

func (d *deferredLog) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.w != nil {
		d.w.Close()
	}
}

func startObservers(c *Context, extra []events.Listener) (*observers, error) {
	o := &observers{bus: events.NewBus(c.log)}
	uiOn, _ := c.conf.Bool("stoke.ui.enabled")
	if uiOn {
		// Only the UI reads the store: without it, tasks feed nothing.
		o.store = ui.NewStore()
		o.bus.Subscribe(o.store)
	}
	for _, l := range extra {
		o.bus.Subscribe(l)
	}
	if on, _ := c.conf.Bool("stoke.eventLog.enabled"); on {
		compress, _ := c.conf.Bool("stoke.eventLog.compress")
		o.log = &deferredLog{opts: eventlog.WriterOptions{Compress: compress}}
		if on, _ := c.conf.Bool("stoke.eventLog.rolling.enabled"); on {
			o.log.opts.RollBytes, _ = c.conf.Bytes("stoke.eventLog.rolling.maxFileSize")
		}
		o.bus.Subscribe(o.log)
	}
	if on, _ := c.conf.Bool("stoke.ui.showConsoleProgress"); on && progress.Enabled(os.Stderr) {
		o.bar = progress.New(os.Stderr, 200*time.Millisecond, 80)
		o.bus.Subscribe(o.bar)
	}
	if uiOn {
		port, err := c.conf.Int("stoke.ui.port")
		if err != nil {
			o.close()
			return nil, err
		}
		retries, _ := c.conf.Int("stoke.port.maxRetries")
		opts := []ui.Option{ui.WithDropCounter(o.bus.Dropped), ui.WithDumper(c.StackDump, ErrUnknownExecutor)}
		if kill, _ := c.conf.Bool("stoke.ui.killEnabled"); kill {
			// An application run with a configured secret (a cluster's)
			// asks for it before killing; a local one needs only the
			// form's token.
			secret := ""
			if c.conf.SourceOf("stoke.authenticate.secret") != conf.SourceDefault {
				secret = c.conf.String("stoke.authenticate.secret")
			} else if f := c.conf.String("stoke.authenticate.secret.file"); f != "" {
				if b, err := os.ReadFile(f); err == nil {
					secret = strings.TrimSpace(string(b))
				}
			}
			opts = append(opts, ui.WithKiller(c, secret))
		}
		srv, err := ui.Start(c.conf.String("stoke.driver.bindAddress"), port, retries, o.store, c.log, opts...)
		if err != nil {
			o.close()
			return nil, err
		}
		o.server = srv
	}
	return o, nil
}

func (o *observers) post(e events.Event) { o.bus.Post(e) }

// settleConsole lets the progress bar clear its line for a finished job
// before the caller prints the job's results on the same terminal.
func (o *observers) settleConsole() {
	if o.bar != nil {
		o.bus.Flush()
	}
}

func (o *observers) uiURL() string {
	if o == nil || o.server == nil {
		return ""
	}
	return o.server.URL()
}

func (o *observers) close() {
	o.bus.Flush()
	o.bus.Close()
	if o.bar != nil {
		o.bar.Close()
	}
	if o.log != nil {
		o.log.close()
	}
	if o.server != nil {
		o.server.Close()
	}
}

func environmentEvent(c *conf.Conf) events.Environment {
	var ev events.Environment
	for _, e := range c.Redacted() {
		ev.Properties = append(ev.Properties, [2]string{e.Key, e.Value})
		ev.Sources = append(ev.Sources, [2]string{e.Key, string(e.Source)})
	}
	return ev
}

func (c *Context) poolsEvent() events.Pools {
	ev := events.Pools{Mode: c.settings.sched.Mode.String()}
	for _, p := range c.core.Pools() {
		ev.Pools = append(ev.Pools, events.Pool{Name: p.Name, Mode: p.Mode.String(), Weight: p.Weight, MinShare: p.MinShare})
	}
	return ev
}

func stageSubmittedEvent(s *stage, ts sched.TaskSet, j *job, parents []int, now time.Time) events.StageSubmitted {
	return events.StageSubmitted{StageID: s.id, Attempt: ts.ID.StageAttempt, JobID: j.id, Name: s.name, NumTasks: len(ts.Tasks), ParentIDs: parents, Pool: j.pool, Time: now}
}

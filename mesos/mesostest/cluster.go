package mesostest

import (
	"fmt"
	"os"
	"sync"
	"testing"
	"time"
)

// Cluster is a running test cluster: masters, agents and their processes.
// All state is guarded by one mutex; processes, sockets and timers are thin
// goroutines around it.
type Cluster struct {
	opts Options

	mu       sync.Mutex
	masters  []*Master
	leader   *Master // nil while no master leads
	agents   []*Agent
	nextID   int
	closed   bool
	stats    stats
	tickStop chan struct{}
	tickDone chan struct{}
	kick     chan struct{} // an allocation is due now (allocateNowLocked)
	procs    sync.WaitGroup
}

// Start starts a cluster for a test and closes it when the test ends. It
// fails the test if the cluster cannot start.
func Start(tb testing.TB, opts Options) *Cluster {
	tb.Helper()
	if opts.WorkDir == "" {
		opts.WorkDir = tb.TempDir()
	}
	if opts.Logf == nil {
		opts.Logf = tb.Logf
	}
	c, err := New(opts)
	if err != nil {
		tb.Fatalf("mesostest: %v", err)
	}
	tb.Cleanup(c.Close)
	return c
}

// New starts a cluster outside a test. Close it when done.
func New(opts Options) (*Cluster, error) {
	opts.setDefaults()
	if opts.WorkDir == "" {
		dir, err := os.MkdirTemp("", "mesostest-")
		if err != nil {
			return nil, err
		}
		opts.WorkDir = dir
	}
	c := &Cluster{opts: opts, tickStop: make(chan struct{}), tickDone: make(chan struct{}), kick: make(chan struct{}, 1)}
	c.stats.init()
	for i := 0; i < opts.Masters; i++ {
		m, err := newMaster(c, i)
		if err != nil {
			c.Close()
			return nil, err
		}
		c.masters = append(c.masters, m)
	}
	c.mu.Lock()
	c.leader = c.masters[0]
	c.leader.promoteLocked()
	c.mu.Unlock()
	for _, spec := range opts.Agents {
		if _, err := c.AddAgent(spec); err != nil {
			c.Close()
			return nil, err
		}
	}
	go c.tickLoop()
	return c, nil
}

// Close stops every process, stream and server of the cluster.
func (c *Cluster) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	close(c.tickStop)
	for _, a := range c.agents {
		a.shutdownAllLocked()
	}
	for _, m := range c.masters {
		m.demoteLocked()
	}
	c.mu.Unlock()
	<-c.tickDone
	waitTimeout(&c.procs, 10*time.Second)
	for _, a := range c.agents {
		a.close()
	}
	for _, m := range c.masters {
		m.close()
	}
}

func waitTimeout(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}

// logf logs unless the cluster is closing (a test's Logf must not be
// called after the test ends). Callers hold c.mu.
func (c *Cluster) logf(format string, args ...any) {
	if c.closed {
		return
	}
	c.opts.Logf("mesostest: "+format, args...)
}

// warnLocked logs what the real master would log as a warning, and keeps
// it for Warnings.
func (c *Cluster) warnLocked(msg string) {
	c.stats.warnings = append(c.stats.warnings, msg)
	c.logf("WARNING: %s", msg)
}

// Warnings returns the warnings the master logged about frameworks' tasks
// (an executor below Mesos's minimum resources), oldest first.
func (c *Cluster) Warnings() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.stats.warnings...)
}

// allocateNowLocked makes the leader offer what is free at once instead of
// at the next allocation interval, as Mesos's allocator does when a
// framework subscribes or revives and when an agent joins.
func (c *Cluster) allocateNowLocked() {
	if c.leader == nil {
		return
	}
	c.leader.nextAlloc = time.Time{}
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// seq returns a cluster-unique sequence number.
func (c *Cluster) seqLocked() int {
	c.nextID++
	return c.nextID
}

func (c *Cluster) tickLoop() {
	defer close(c.tickDone)
	// Heartbeats, retries and timeouts run at a finer grain than offers.
	t := time.NewTicker(min(c.opts.AllocationInterval, 50*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-c.tickStop:
			return
		case <-t.C:
			c.tick(time.Now())
		case <-c.kick:
			c.tick(time.Now())
		}
	}
}

// tick runs every periodic duty: offers, heartbeats, status update retries
// and timeouts.
func (c *Cluster) tick(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	for _, a := range c.agents {
		a.tickLocked(now)
	}
	if c.leader != nil {
		c.leader.tickLocked(now)
	}
}

func (c *Cluster) agentLocked(id string) *Agent {
	for _, a := range c.agents {
		if a.id == id && !a.removed {
			return a
		}
	}
	return nil
}

// errorf for Go API misuse.
func apiErr(format string, args ...any) error { return fmt.Errorf("mesostest: "+format, args...) }

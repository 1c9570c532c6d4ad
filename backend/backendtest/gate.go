package backendtest

import (
	"context"
	"fmt"
	"sync"

	"github.com/stoke-run/stoke/backend"
	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
)

// Gate wraps a backend and holds back executor registrations until Open, so
// a test can make jobs pending together before any slot exists.
type Gate struct {
	backend.Backend
	mu      sync.Mutex
	open    bool
	held    []backend.ExecutorInfo
	driver  backend.Driver
	arrived chan struct{}
}

// NewGate wraps b.
func NewGate(b backend.Backend) *Gate { return &Gate{Backend: b, arrived: make(chan struct{}, 64)} }

func (g *Gate) Start(ctx context.Context, d backend.Driver) error {
	g.driver = d
	return g.Backend.Start(ctx, gatedDriver{d, g})
}

// Held counts the executors waiting at the gate.
func (g *Gate) Held() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.held)
}

// Arrived receives a value each time an executor reaches the gate.
func (g *Gate) Arrived() <-chan struct{} { return g.arrived }

// Open registers the held executors one after the other, then lets later
// ones straight through.
func (g *Gate) Open() {
	g.mu.Lock()
	held := g.held
	g.held = nil
	g.open = true
	g.mu.Unlock()
	for _, e := range held {
		g.driver.ExecutorAdded(e)
	}
}

type gatedDriver struct {
	backend.Driver
	g *Gate
}

func (d gatedDriver) ExecutorAdded(e backend.ExecutorInfo) {
	d.g.mu.Lock()
	if !d.g.open {
		d.g.held = append(d.g.held, e)
		d.g.mu.Unlock()
		d.g.arrived <- struct{}{}
		return
	}
	d.g.mu.Unlock()
	d.Driver.ExecutorAdded(e)
}

// DecommissionExecutor passes decommissions through to the wrapped
// backend, when it can.
func (g *Gate) DecommissionExecutor(id string, d *pb.Decommission, report func(*pb.MigrationReport)) error {
	dc, ok := g.Backend.(backend.Decommissioner)
	if !ok {
		return fmt.Errorf("backend %T cannot decommission executors", g.Backend)
	}
	return dc.DecommissionExecutor(id, d, report)
}

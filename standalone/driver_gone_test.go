package standalone

import (
	"testing"
	"time"

	"github.com/stoke-run/stoke/internal/clock"
)

// A driver with no poll open for longer than stoke.deploy.driverDisconnectGrace
// is gone: its application fails and is not given executors meanwhile; an
// open poll, however long, keeps it alive.
func TestDriverGoneAfterGrace(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	m := newTestMaster(clk)
	m.opts.DriverGrace = 5 * time.Second
	idle := m.addTestApp("app-20260101000000-0001", 1, 64)
	polling := m.addTestApp("app-20260101000000-0002", 1, 64)
	idle.idleSince, idle.tracked = clk.Now(), true
	polling.polls, polling.tracked = 1, true
	clk.Advance(2 * time.Second)
	m.checkTimeouts(clk.Now())
	if idle.state != StateWaiting {
		t.Fatalf("idle 2 s of a 5 s grace: %s", idle.state)
	}
	if !idle.paused() || polling.paused() {
		t.Error("scheduling pause: idle app not paused, or polling app paused")
	}
	// An executor of the polling app ends: no relaunch until its driver
	// polls again.
	polling.executors["0"] = &execInfo{appID: polling.desc.ID, id: "0"}
	m.executorGone(polling.executors["0"], "exited", true)
	if !polling.paused() {
		t.Error("an executor ended and the app is not paused until its driver polls again")
	}
	clk.Advance(4 * time.Second)
	m.checkTimeouts(clk.Now())
	if idle.state != StateFailed || polling.state != StateWaiting {
		t.Errorf("after the grace: idle app %s (want FAILED), polling app %s", idle.state, polling.state)
	}
}

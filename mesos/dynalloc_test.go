package mesos_test

import (
	"context"
	"testing"
	"time"

	"github.com/stoke-run/stoke/mesos/mesostest"
)

// Coarse-grained dynamic allocation: the framework starts with no
// executor and offers suppressed, accepts offers up to each new target,
// suppresses again once there, and KillExecutors lowers the total.
func TestDynamicAllocationFollowsTheTarget(t *testing.T) {
	c := mesostest.Start(t, mesostest.Options{Agents: []mesostest.AgentSpec{{CPUs: 4, MemMB: 4096}}})
	cfg := coarseConfig(c)
	cfg["stoke.executor.cores"] = "1"
	cfg["stoke.dynamicAllocation.enabled"] = "true"
	b := newBackend(t, cfg)
	if err := b.Start(context.Background(), nopDriver{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Stop(context.Background()) })
	id := b.FrameworkID()
	// The master's state, not a count of SUPPRESS calls: an offer already
	// in flight when the target rises may be taken with the flow left
	// suppressed, and then no new SUPPRESS is due.
	suppressed := func() bool { fw, _ := c.Framework(id); return fw.Suppressed }
	mesostest.Eventually(t, 10*time.Second, "offers suppressed with no executor wanted", suppressed)
	if n := running(c, id); n != 0 {
		t.Fatalf("%d executors before the driver asked for any", n)
	}
	for _, target := range []int{1, 3} {
		if err := b.RequestTotalExecutors(target); err != nil {
			t.Fatal(err)
		}
		mesostest.Eventually(t, 30*time.Second, "executors up to the target", func() bool { return running(c, id) == target })
		mesostest.Eventually(t, 10*time.Second, "offers suppressed again at the target", suppressed)
		if n := running(c, id); n != target {
			t.Fatalf("%d executors for a target of %d", n, target)
		}
	}
	var victim string
	for _, v := range c.Tasks() {
		if v.FrameworkID == id && !terminalView(v) {
			victim = v.TaskID
			break
		}
	}
	if err := b.KillExecutors([]string{victim}); err != nil {
		t.Fatal(err)
	}
	mesostest.Eventually(t, 30*time.Second, "the killed executor gone", func() bool { return running(c, id) == 2 })
}

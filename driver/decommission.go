package driver

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/stoke-run/stoke/backend"
	"github.com/stoke-run/stoke/internal/clock"
	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
)

// Graceful decommission (stoke.decommission.enabled with shuffle block
// migration): an executor to be released that holds map outputs the
// driver tracks takes no more tasks, copies those outputs to executors
// that stay (executor.Migrate, over the authenticated block service) and
// reports which arrived; the driver points each moved output at its new
// executor and only then kills the old one. An output that did not arrive
// stays where it is, and so does the executor (shuffle tracking), unless
// shuffle tracking is off: then it goes and the output is recomputed when
// read. Every backend with coarse executors carries the request
// (backend.Decommissioner); the migration itself is the executors'.

// decommission is one executor copying its map outputs away.
type decommission struct {
	seq     int64
	reason  string // why it is released
	outputs int    // map outputs it was asked to move
	targets []string
	timer   clock.Timer
}

// release is one executor being given back.
type release struct {
	id, reason string
	// decommission: move its shuffle output first, when it holds any.
	decommission bool
}

// pendingDecommission is a Decommission to send once c.mu is released.
type pendingDecommission struct {
	id  string
	msg *pb.Decommission
}

// releaseLocked takes the executors out of scheduling and sorts them into
// those to kill now and those that first move their shuffle output
// (decommission). Executors with output and nowhere to move it stay, with
// shuffle tracking (their slots come back); c.mu is held.
func (c *Context) releaseLocked(rels []release, a *actions) (kill []string, decom []pendingDecommission) {
	now := c.clock.Now()
	// All of them leave scheduling first, so that none is another's
	// migration target.
	var going []release
	for _, r := range rels {
		if _, ok := c.executors[r.id]; !ok {
			continue
		}
		if _, already := c.releaseReasons[r.id]; already {
			continue
		}
		c.releaseReasons[r.id] = r.reason
		// No task may start on it while it goes (it runs none: the
		// policy saw it idle under this lock).
		c.unusable[r.id] = true
		c.handle(c.core.RemoveExecutor(r.id, r.reason, now), a)
		going = append(going, r)
	}
	for _, r := range going {
		if !r.decommission || !c.settings.decommission {
			c.log.WithField("executor", r.id).Info(r.reason)
			kill = append(kill, r.id)
			continue
		}
		outputs := c.outputsOn(r.id)
		if len(outputs) == 0 {
			c.log.WithField("executor", r.id).Info(r.reason)
			kill = append(kill, r.id)
			continue
		}
		targets := c.migrationTargets(r.id)
		if len(targets) == 0 {
			if c.shuffleTracking() {
				c.log.WithField("executor", r.id).Infof("%s: kept, no executor stays to take its %d shuffle map output(s)", r.reason, len(outputs))
				c.keepLocked(r.id, true)
				continue
			}
			c.log.WithField("executor", r.id).Infof("%s: no executor stays to take its %d shuffle map output(s); they will be recomputed", r.reason, len(outputs))
			kill = append(kill, r.id)
			continue
		}
		c.nextDecom++
		seq := c.nextDecom
		d := &decommission{seq: seq, reason: r.reason, outputs: len(outputs)}
		for _, t := range targets {
			d.targets = append(d.targets, t.ExecutorId)
		}
		id := r.id
		d.timer = c.clock.AfterFunc(c.settings.networkTimeout, func() {
			c.migrationReported(id, &pb.MigrationReport{Id: seq, Failed: int32(len(outputs)),
				Error: fmt.Sprintf("no report within stoke.network.timeout (%v)", c.settings.networkTimeout)})
		})
		c.decoms[r.id] = d
		c.log.WithField("executor", r.id).Infof("%s: decommissioning, moving %d shuffle map output(s) to %d executor(s)", r.reason, len(outputs), len(targets))
		decom = append(decom, pendingDecommission{id: r.id, msg: &pb.Decommission{Id: seq, Targets: targets, Outputs: outputs}})
	}
	return kill, decom
}

// shuffleTracking says whether shuffle output keeps an executor that
// cannot move it.
func (c *Context) shuffleTracking() bool { return c.dyn == nil || c.settings.dyn.ShuffleTracking }

// outputsOn lists the map outputs the driver tracks on an executor.
func (c *Context) outputsOn(id string) []*pb.MapOutputId {
	var out []*pb.MapOutputId
	for sid, s := range c.shuffles {
		for _, o := range s.shuffle.outputs {
			if o != nil && o.execID == id {
				out = append(out, &pb.MapOutputId{ShuffleId: sid, MapTaskId: o.taskID})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].ShuffleId != out[j].ShuffleId {
			return out[i].ShuffleId < out[j].ShuffleId
		}
		return out[i].MapTaskId < out[j].MapTaskId
	})
	return out
}

// migrationTargets are the executors that stay: registered, usable, with
// a block service; c.mu is held.
func (c *Context) migrationTargets(except string) []*pb.MigrationTarget {
	var out []*pb.MigrationTarget
	for id, info := range c.executors {
		if id != except && !c.unusable[id] && info.Address != "" {
			out = append(out, &pb.MigrationTarget{ExecutorId: id, Address: info.Address})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ExecutorId < out[j].ExecutorId })
	return out
}

// keepLocked gives a released executor its slots back; c.mu is held. A
// kill that failed is retried at the next decision; an executor whose
// output could not move (gaveUp) waits for another idle timeout.
func (c *Context) keepLocked(id string, gaveUp bool) {
	info, still := c.executors[id]
	if !still || !c.unusable[id] {
		return
	}
	if c.dyn != nil {
		if gaveUp {
			c.dyn.policy.KeptAt(id, c.clock.Now())
		} else {
			c.dyn.policy.ReleaseFailed(id)
		}
	}
	delete(c.releaseReasons, id)
	delete(c.unusable, id)
	c.core.AddExecutor(info.ID, info.Host, info.Cores, c.clock.Now())
}

// sendDecommissions carries the decommissions out; c.mu is not held.
func (c *Context) sendDecommissions(ds []pendingDecommission) {
	dc, _ := c.be.(backend.Decommissioner)
	for _, d := range ds {
		id, seq, n := d.id, d.msg.Id, len(d.msg.Outputs)
		report := func(r *pb.MigrationReport) { c.migrationReported(id, r) }
		if dc == nil {
			report(&pb.MigrationReport{Id: seq, Failed: int32(n), Error: fmt.Sprintf("backend %T cannot decommission executors", c.be)})
			continue
		}
		if err := dc.DecommissionExecutor(id, d.msg, report); err != nil {
			report(&pb.MigrationReport{Id: seq, Failed: int32(n), Error: err.Error()})
		}
	}
}

// migrationReported applies an executor's MigrationReport: moved outputs
// point at the executor that stored them, if it is still here; then the
// executor goes if nothing of it is still read from it, and stays
// otherwise (shuffle tracking).
func (c *Context) migrationReported(id string, r *pb.MigrationReport) {
	a := &actions{}
	c.mu.Lock()
	d := c.decoms[id]
	if d == nil || d.seq != r.Id || c.stopped {
		c.mu.Unlock()
		return
	}
	delete(c.decoms, id)
	d.timer.Stop()
	if _, ok := c.executors[id]; !ok {
		c.mu.Unlock()
		return
	}
	moved, bytes := 0, int64(0)
	var to []string
	for _, m := range r.Moved {
		target, ok := c.executors[m.ExecutorId]
		if !ok || c.unusable[m.ExecutorId] || m.ExecutorId == id {
			continue // gone (or going) since: the output stays here
		}
		s := c.shuffles[m.ShuffleId]
		if s == nil {
			continue
		}
		for p, o := range s.shuffle.outputs {
			if o != nil && o.taskID == m.MapTaskId && o.execID == id {
				s.shuffle.outputs[p] = &mapOutput{taskID: o.taskID, execID: target.ID, address: target.Address, sizes: o.sizes}
				moved++
				bytes += m.Bytes
				if !slices.Contains(to, target.ID) {
					to = append(to, target.ID)
				}
			}
		}
	}
	sort.Strings(to)
	left := len(c.outputsOn(id))
	log := c.log.WithField("executor", id)
	if r.Error != "" {
		log.Warnf("decommission: %d of %d shuffle map output(s) moved: %s", moved, d.outputs, r.Error)
	}
	var kill bool
	switch {
	case left == 0:
		kill = true
		reason := fmt.Sprintf("%s; decommissioned: %d shuffle map output(s) (%s) migrated", d.reason, moved, humanBytes(bytes))
		if len(to) > 0 {
			reason += " to executor(s) " + strings.Join(to, ", ")
		}
		c.releaseReasons[id] = reason
		c.migrated[id] = moved
		log.Info(reason)
	case !c.shuffleTracking():
		kill = true
		c.releaseReasons[id] = fmt.Sprintf("%s; decommissioned: %d shuffle map output(s) migrated, %d left to recompute", d.reason, moved, left)
		c.migrated[id] = moved
	default:
		log.Warnf("decommission: %d shuffle map output(s) could not move; the executor stays (shuffle tracking)", left)
		c.keepLocked(id, true)
		c.schedule(a)
	}
	c.mu.Unlock()
	c.apply(a)
	if kill {
		c.killReleased([]string{id})
		c.mu.Lock()
		target := -1
		if c.dyn != nil && !c.stopped {
			target = c.dyn.policy.Target()
		}
		c.mu.Unlock()
		if target >= 0 {
			if err := c.be.RequestTotalExecutors(target); err != nil {
				c.log.WithError(err).Warnf("dynamic allocation: asking for %d executors", target)
			}
		}
	}
}

// killReleased asks the backend to kill released executors; those it
// cannot kill stay, with their slots back. c.mu is not held.
func (c *Context) killReleased(ids []string) {
	if len(ids) == 0 {
		return
	}
	err := c.be.KillExecutors(ids)
	if err == nil {
		return
	}
	c.log.WithError(err).Warnf("releasing executors %s", strings.Join(ids, ", "))
	a := &actions{}
	c.mu.Lock()
	for _, id := range ids {
		c.keepLocked(id, false)
		delete(c.migrated, id)
	}
	if !c.stopped {
		c.schedule(a)
	}
	c.mu.Unlock()
	c.apply(a)
}

// DecommissionExecutor releases an executor the way dynamic allocation
// does: it takes no more tasks, moves its shuffle output to executors
// that stay when stoke.decommission.enabled (and the storage keys) are
// on, and is then killed. An executor running tasks is refused.
func (c *Context) DecommissionExecutor(id, reason string) error {
	a := &actions{}
	c.mu.Lock()
	_, going := c.releaseReasons[id]
	if _, ok := c.executors[id]; !ok || going {
		c.mu.Unlock()
		return fmt.Errorf("executor %s is not registered or is already going", id)
	}
	if n := c.core.Backlog().RunningOn[id]; n > 0 {
		c.mu.Unlock()
		return fmt.Errorf("executor %s runs %d task(s)", id, n)
	}
	if c.dyn != nil {
		// The policy must not count it any more.
		c.dyn.policy.MarkReleasing(id)
	}
	kill, decom := c.releaseLocked([]release{{id: id, reason: reason, decommission: true}}, a)
	c.mu.Unlock()
	c.apply(a)
	c.sendDecommissions(decom)
	c.killReleased(kill)
	return nil
}

// shuffleServed says whether a shuffle service serves an executor's map
// outputs once it is gone (stoke.shuffle.service.enabled and its worker
// runs the service).
func (c *Context) shuffleServed(info backend.ExecutorInfo) bool {
	return c.settings.shuffleService && info.ShuffleServiceAddress != ""
}

// shuffleServiceID stands for a shuffle service in map-output locations
// (and in the fetch failures that name them).
func shuffleServiceID(addr string) string { return "shuffle-service@" + addr }

// serveOutputsOf points the map outputs of a gone executor at the shuffle
// service that serves its files; c.mu is held.
func (c *Context) serveOutputsOf(info backend.ExecutorInfo) int {
	n := 0
	for _, s := range c.shuffles {
		for p, o := range s.shuffle.outputs {
			if o != nil && o.execID == info.ID {
				s.shuffle.outputs[p] = &mapOutput{taskID: o.taskID, execID: shuffleServiceID(info.ShuffleServiceAddress), address: info.ShuffleServiceAddress, sizes: o.sizes}
				n++
			}
		}
	}
	return n
}

// receiving lists the executors shuffle output is being copied to;
// c.mu is held.
func (c *Context) receiving() map[string]bool {
	out := map[string]bool{}
	for _, d := range c.decoms {
		for _, t := range d.targets {
			out[t] = true
		}
	}
	return out
}

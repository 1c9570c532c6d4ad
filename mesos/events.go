package mesos

import (
	"context"
	"fmt"
	"hash/fnv"
	"sort"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"

	"github.com/stoke-run/stoke/backend"
	"github.com/stoke-run/stoke/mesos/offers"
)

// handle applies one event. An error ends the subscription.
func (b *Backend) handle(ctx context.Context, caller calls.Caller, ev *scheduler.Event) error {
	switch ev.Type {
	case scheduler.Event_SUBSCRIBED:
		return b.subscribedEvent(ctx, caller, ev.GetSubscribed())
	case scheduler.Event_OFFERS:
		b.offersEvent(ctx, caller, ev.GetOffers().GetOffers())
	case scheduler.Event_UPDATE:
		b.updateEvent(ctx, caller, ev.GetUpdate().GetStatus())
	case scheduler.Event_RESCIND:
		// Offers are answered as they come; nothing is held to forget.
		b.log.Debugf("offer %s rescinded", ev.GetRescind().OfferID.Value)
	case scheduler.Event_FAILURE:
		f := ev.GetFailure()
		if f.ExecutorID != nil {
			b.log.Warnf("Mesos executor %s on agent %s ended (status %d)", f.GetExecutorID().GetValue(), f.GetAgentID().GetValue(), f.GetStatus())
		} else {
			b.log.Warnf("Mesos agent %s was removed; its executors' tasks are reported lost", f.GetAgentID().GetValue())
		}
	case scheduler.Event_ERROR:
		return fmt.Errorf("Mesos master sent ERROR: %s", ev.GetError().GetMessage())
	case scheduler.Event_HEARTBEAT:
	default:
		b.log.Debugf("ignoring Mesos event %v", ev.Type)
	}
	return nil
}

func (b *Backend) subscribedEvent(ctx context.Context, caller calls.Caller, s *scheduler.Event_Subscribed) error {
	id := s.GetFrameworkID().GetValue()
	if id == "" {
		return fmt.Errorf("SUBSCRIBED event without a framework id")
	}
	b.mu.Lock()
	if b.frameworkID != "" && b.frameworkID != id {
		b.mu.Unlock()
		return fmt.Errorf("%w: Mesos master gave framework id %s, want %s (the failover timeout passed?)", errPermanent, id, b.frameworkID)
	}
	b.frameworkID = id
	b.caller = caller
	b.suppressed = false
	known := map[string]string{}
	for tid, t := range b.tasks {
		known[tid] = t.agentID
	}
	b.mu.Unlock()
	b.log.Infof("subscribed to Mesos as framework %s", id)
	// Reconcile the tasks this driver knows; an implicit reconciliation
	// also reports tasks of an earlier incarnation (killed as unknown).
	if len(known) > 0 {
		if err := b.send(ctx, caller, calls.Reconcile(calls.ReconcileTasks(known))); err != nil {
			b.log.WithError(err).Warn("explicit reconciliation")
		}
	}
	if err := b.send(ctx, caller, calls.Reconcile()); err != nil {
		b.log.WithError(err).Warn("implicit reconciliation")
	}
	b.reviveOrSuppress(ctx, caller, true)
	return nil
}

// wantLocked reports whether more executors are wanted now.
func (b *Backend) wantLocked() bool {
	if b.hooks != nil {
		return !b.stopping && b.hooks.want()
	}
	if b.set.fine {
		return b.fineWantLocked()
	}
	if b.stopping {
		return false
	}
	if b.limit >= 0 && len(b.tasks) >= b.limit {
		return false
	}
	m := b.set.match
	if m.CoresMax > 0 {
		max := float64(int(m.CoresMax/m.ExecutorCPUs)) * m.ExecutorCPUs
		if b.heldLocked()+m.ExecutorCPUs > max+1e-6 {
			return false
		}
	}
	return true
}

// updateOffers revives or suppresses offers on the current subscription,
// off the caller's goroutine.
func (b *Backend) updateOffers(force bool) {
	b.mu.Lock()
	caller := b.caller
	b.mu.Unlock()
	if caller != nil {
		go b.reviveOrSuppress(context.Background(), caller, force)
	}
}

// reviveOrSuppress sends REVIVE when executors are wanted (always when
// force: it clears long refuse filters) and SUPPRESS when none are.
func (b *Backend) reviveOrSuppress(ctx context.Context, caller calls.Caller, force bool) {
	// One decision and its call at a time: a SUPPRESS decided before a
	// REVIVE must not reach the master after it.
	b.flowMu.Lock()
	defer b.flowMu.Unlock()
	b.mu.Lock()
	want := b.wantLocked()
	var c *scheduler.Call
	switch {
	case want && (b.suppressed || force):
		c, b.suppressed = calls.Revive(), false
	case !want && !b.suppressed:
		c, b.suppressed = calls.Suppress(), true
	}
	b.mu.Unlock()
	if c != nil {
		if err := b.send(ctx, caller, c); err != nil {
			b.log.WithError(err).Warn("changing offer flow")
		}
	}
}

func (b *Backend) offersEvent(ctx context.Context, caller calls.Caller, os []mesos.Offer) {
	if b.hooks != nil {
		b.hooks.offers(ctx, caller, os)
		return
	}
	b.mu.Lock()
	for i := range os {
		b.agentsSeen[os[i].AgentID.Value] = os[i].Hostname
	}
	b.mu.Unlock()
	if b.set.fine {
		b.fineOffers(ctx, caller, os)
		return
	}
	in := make([]offers.Offer, len(os))
	for i := range os {
		in[i] = convertOffer(&os[i])
	}
	b.mu.Lock()
	st := b.offerStateLocked(len(b.tasks))
	ds := offers.Match(b.set.match, st, in)
	type accept struct {
		offer mesos.OfferID
		tasks []mesos.TaskInfo
	}
	var accepts []accept
	declines := map[time.Duration][]mesos.OfferID{}
	for i, d := range ds {
		if !d.Accept {
			declines[d.Refuse] = append(declines[d.Refuse], os[i].ID)
			b.log.Debugf("declining offer %s for %v: %s", d.OfferID, d.Refuse, d.Reason)
			continue
		}
		a := accept{offer: os[i].ID}
		for _, l := range d.Launches {
			id := b.nextID()
			a.tasks = append(a.tasks, b.taskInfo(id, &os[i], l))
			b.tasks[id] = &taskState{agentID: os[i].AgentID.Value, host: os[i].Hostname, cpus: l.CPUs, state: mesos.TASK_STAGING}
		}
		accepts = append(accepts, a)
	}
	b.mu.Unlock()

	for _, a := range accepts {
		c := calls.Accept(calls.OfferOperations{calls.OpLaunch(a.tasks...)}.WithOffers(a.offer)).With(calls.RefuseSeconds(b.set.match.Refuse))
		if err := b.send(ctx, caller, c); err != nil {
			b.log.WithError(err).Warnf("launching %d executor(s) on offer %s", len(a.tasks), a.offer.Value)
			b.mu.Lock()
			for _, t := range a.tasks {
				delete(b.tasks, t.TaskID.Value)
			}
			b.mu.Unlock()
			continue
		}
		for _, t := range a.tasks {
			b.log.Infof("launching executor %s on %s (agent %s)", t.TaskID.Value, t.AgentID.Value, t.AgentID.Value)
		}
	}
	b.decline(ctx, caller, declines)
	if len(accepts) > 0 {
		b.reviveOrSuppress(ctx, caller, false)
	}
}

func seed(id string, n int) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%d", id, n)
	return h.Sum64()
}

func (b *Backend) updateEvent(ctx context.Context, caller calls.Caller, st mesos.TaskStatus) {
	if len(st.UUID) > 0 {
		if err := b.send(ctx, caller, calls.Acknowledge(st.GetAgentID().GetValue(), st.TaskID.Value, st.UUID)); err != nil {
			b.log.WithError(err).Warnf("acknowledging update of task %s", st.TaskID.Value)
		}
	}
	if b.hooks != nil {
		b.hooks.update(ctx, caller, st)
		return
	}
	if b.set.fine && b.fineTaskUpdate(ctx, caller, st) {
		return
	}
	id := st.TaskID.Value
	state := st.GetState()
	b.mu.Lock()
	t := b.tasks[id]
	if t == nil {
		b.mu.Unlock()
		if !terminal(state) {
			b.log.Warnf("killing Mesos task %s (%v): this driver did not launch it", id, state)
			if err := b.send(ctx, caller, calls.Kill(id, st.GetAgentID().GetValue())); err != nil {
				b.log.WithError(err).Warn("killing an unknown task")
			}
		}
		return
	}
	t.state = state
	if !terminal(state) {
		b.mu.Unlock()
		return
	}
	delete(b.tasks, id)
	if b.files != nil {
		b.files.grants.revoke(id) // its process will not redeem them now
	}
	if b.set.fine {
		b.fineExecutorGoneLocked(id)
	}
	stopping := b.stopping
	reason := describe(id, t.host, st)
	var end error
	if failed(state) && !stopping {
		b.failures[t.agentID]++
		n := b.failures[t.agentID]
		if n == b.set.match.MaxAgentFailures {
			b.log.Warnf("excluding Mesos agent %s (%s) after %d failed executors", t.agentID, t.host, n)
		}
		if n >= b.set.match.MaxAgentFailures {
			end = b.hopelessLocked(reason)
		}
	}
	b.mu.Unlock()
	if stopping {
		return
	}
	b.log.Warn(reason)
	b.srv.ExecutorExited(id, reason)
	if end != nil {
		b.log.WithError(end).Error("the application cannot run on this Mesos cluster; its jobs fail")
		if e, ok := b.driver.(backend.ApplicationEnder); ok {
			e.ApplicationEnded(end)
		}
	}
	b.reviveOrSuppress(ctx, caller, true)
}

// hopelessLocked says why the application can never get an executor, or
// nil: every agent that has offered resources is excluded after
// stoke.mesos.maxAgentFailures failed executors and none of its executors
// is left. Waiting for offers would wait forever (Spark's Mesos backend
// does, warning only that the job "has not accepted any resources").
func (b *Backend) hopelessLocked(last string) error {
	if b.ended || len(b.tasks) > 0 || len(b.agentsSeen) == 0 {
		return nil
	}
	for a := range b.agentsSeen {
		if b.failures[a] < b.set.match.MaxAgentFailures {
			return nil
		}
	}
	b.ended = true
	return fmt.Errorf("every Mesos agent that offered resources (%d) is excluded after %d failed executors (stoke.mesos.maxAgentFailures) and no executor is left; the last failure: %s",
		len(b.agentsSeen), b.set.match.MaxAgentFailures, last)
}

func describe(id, host string, st mesos.TaskStatus) string {
	return describeStatus(fmt.Sprintf("Mesos task of executor %s on %s is %v", id, host, st.GetState()), st)
}

// describeTask tells a fine-grained Stoke task's Mesos end.
func describeTask(id, host string, st mesos.TaskStatus) string {
	return describeStatus(fmt.Sprintf("Mesos task %s on %s is %v", id, host, st.GetState()), st)
}

func describeStatus(s string, st mesos.TaskStatus) string {
	if r := st.GetReason(); r != 0 {
		s += fmt.Sprintf(" (%v)", r)
	}
	if m := st.GetMessage(); m != "" {
		s += ": " + m
	}
	return s
}

func terminal(s mesos.TaskState) bool {
	switch s {
	case mesos.TASK_FINISHED, mesos.TASK_FAILED, mesos.TASK_KILLED, mesos.TASK_ERROR, mesos.TASK_LOST,
		mesos.TASK_DROPPED, mesos.TASK_GONE, mesos.TASK_GONE_BY_OPERATOR, mesos.TASK_UNKNOWN:
		return true
	}
	return false
}

// failed: the executor ended without being asked to (counts against its agent).
func failed(s mesos.TaskState) bool {
	return terminal(s) && s != mesos.TASK_FINISHED && s != mesos.TASK_KILLED
}

// offerStateLocked is the part of the offer decision's state both modes share.
func (b *Backend) offerStateLocked(executors int) offers.State {
	st := offers.State{
		CPUsHeld:      b.heldLocked(),
		Executors:     executors,
		ExecutorLimit: b.limit,
		AgentFailures: map[string]int{},
		Stopping:      b.stopping,
		Seed:          seed(b.frameworkID, b.launched),
	}
	for a, n := range b.failures {
		st.AgentFailures[a] = n
	}
	return st
}

// decline answers the offers not used, shortest refuse filter first.
func (b *Backend) decline(ctx context.Context, caller calls.Caller, declines map[time.Duration][]mesos.OfferID) {
	durs := make([]time.Duration, 0, len(declines))
	for d := range declines {
		durs = append(durs, d)
	}
	sort.Slice(durs, func(i, j int) bool { return durs[i] < durs[j] })
	for _, d := range durs {
		if err := b.send(ctx, caller, calls.Decline(declines[d]...).With(calls.RefuseSeconds(d))); err != nil {
			b.log.WithError(err).Warnf("declining %d offer(s)", len(declines[d]))
		}
	}
}

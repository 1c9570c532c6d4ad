package mesos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/encoding/codecs"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/apierrors"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/httpsched"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"
)

// Backoff between subscription attempts.
const (
	backoffMin = 250 * time.Millisecond
	backoffMax = 15 * time.Second
	// stableSession is how long a subscription must last to reset the
	// backoff.
	stableSession = 30 * time.Second
)

// errPermanent marks subscription failures retrying cannot fix.
var errPermanent = errors.New("permanent")

// run subscribes, handles events until the stream ends, and subscribes
// again (to the leader found anew, with the same framework id) with
// backoff, until the backend stops.
func (b *Backend) run(ctx context.Context) {
	defer close(b.done)
	attempt := 0
	for ctx.Err() == nil {
		began := time.Now()
		subscribed, err := b.session(ctx)
		b.mu.Lock()
		stopping := b.stopping
		b.lastErr = err
		b.mu.Unlock()
		if stopping {
			return // TEARDOWN ended the stream
		}
		if errors.Is(err, errPermanent) {
			b.log.WithError(err).Error("giving up on Mesos")
			b.report(err)
			return
		}
		if ctx.Err() != nil {
			return
		}
		// A subscription that lasted resets the backoff; one that ends
		// soon after SUBSCRIBED (a master that hangs or flaps) does not.
		if subscribed && time.Since(began) > stableSession {
			attempt = 0
		}
		wait := backoff(attempt)
		attempt++
		b.log.WithError(err).Warnf("Mesos subscription ended; subscribing again in %v", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// report tells Start how the first subscription went (once).
func (b *Backend) report(err error) {
	select {
	case b.subscribed <- err:
	default:
	}
}

// backoff is the wait before attempt n: exponential with jitter, capped.
func backoff(n int) time.Duration {
	d := backoffMin << min(n, 10)
	if d > backoffMax {
		d = backoffMax
	}
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// session is one subscription: find the leader, SUBSCRIBE, handle events.
// It reports whether SUBSCRIBED arrived.
func (b *Backend) session(ctx context.Context) (subscribed bool, err error) {
	leader, err := findLeader(ctx, b.master, b.http)
	if err != nil {
		return false, err
	}
	opts := []httpcli.ConfigOpt{httpcli.Timeout(10 * time.Second)}
	if b.set.principal != "" {
		opts = append(opts, httpcli.BasicAuth(b.set.principal, b.set.secret))
	}
	cli := httpcli.New(
		httpcli.Endpoint("http://"+leader+"/api/v1/scheduler"),
		httpcli.Codec(codecs.ByMediaType[codecs.MediaTypeProtobuf]),
		httpcli.Do(httpcli.With(opts...)),
	)
	// The leader was found just now; a 307 means it changed: end the
	// session and find it again rather than let httpsched retry.
	caller := httpsched.NewCaller(cli, httpsched.MaxRedirects(1), httpsched.EndpointCandidates(func() string { return "" }))

	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	b.mu.Lock()
	info := b.frameworkInfoLocked()
	b.mu.Unlock()
	sub := calls.Subscribe(info)
	if info.ID != nil {
		sub = sub.With(calls.SubscribeTo(info.ID.Value))
	}
	resp, err := caller.Call(sctx, sub)
	if err != nil {
		return false, classify(leader, err)
	}
	defer resp.Close()
	defer func() {
		b.mu.Lock()
		b.caller = nil
		b.mu.Unlock()
	}()

	var last atomic.Int64
	last.Store(time.Now().UnixNano())
	watchdogDone := make(chan struct{})
	defer close(watchdogDone)
	var heartbeat atomic.Int64
	heartbeat.Store(int64(15 * time.Second))
	go func() {
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-watchdogDone:
				return
			case <-t.C:
			}
			limit := time.Duration(heartbeat.Load()) * time.Duration(b.set.heartbeatMisses)
			if time.Since(time.Unix(0, last.Load())) > limit {
				b.log.Warnf("no event from Mesos master %s for %v (%d missed heartbeats); re-subscribing", leader, limit, b.set.heartbeatMisses)
				cancel()
				resp.Close()
				return
			}
		}
	}()

	for {
		ev := &scheduler.Event{}
		if err := resp.Decode(ev); err != nil {
			if sctx.Err() != nil && ctx.Err() == nil {
				return subscribed, errors.New("missed heartbeats")
			}
			return subscribed, fmt.Errorf("event stream from %s: %w", leader, err)
		}
		last.Store(time.Now().UnixNano())
		if ev.Type == scheduler.Event_SUBSCRIBED {
			if s := ev.GetSubscribed(); s != nil && s.HeartbeatIntervalSeconds != nil && *s.HeartbeatIntervalSeconds > 0 {
				heartbeat.Store(int64(*s.HeartbeatIntervalSeconds * float64(time.Second)))
			}
			subscribed = true
		}
		if err := b.handle(sctx, caller, ev); err != nil {
			return subscribed, err
		}
		if ev.Type == scheduler.Event_SUBSCRIBED {
			b.report(nil)
		}
	}
}

// classify marks authentication and validation failures as permanent:
// the master answered 401, 403 or 400 to SUBSCRIBE.
func classify(leader string, err error) error {
	for _, c := range []apierrors.Code{apierrors.CodeNotAuthenticated, apierrors.CodeUnsubscribed, apierrors.CodeMalformedRequest} {
		if c.Matches(err) {
			return fmt.Errorf("%w: Mesos master %s refused SUBSCRIBE: %v (check stoke.mesos.principal and stoke.mesos.secret)", errPermanent, leader, err)
		}
	}
	return fmt.Errorf("SUBSCRIBE to Mesos master %s: %w", leader, err)
}

func (b *Backend) frameworkInfoLocked() *mesos.FrameworkInfo {
	failover := b.set.failover.Seconds()
	checkpoint := b.set.checkpoint
	info := &mesos.FrameworkInfo{
		User:            b.set.user,
		Name:            b.set.name,
		Roles:           []string{b.set.role},
		Checkpoint:      &checkpoint,
		FailoverTimeout: &failover,
		Capabilities: []mesos.FrameworkInfo_Capability{
			{Type: mesos.FrameworkInfo_Capability_MULTI_ROLE},
			{Type: mesos.FrameworkInfo_Capability_TASK_KILLING_STATE},
		},
	}
	if b.set.principal != "" {
		p := b.set.principal
		info.Principal = &p
	}
	if b.set.webUIURL != "" {
		u := b.set.webUIURL
		info.WebUiURL = &u
	}
	id := b.frameworkID
	if id == "" {
		id = b.set.frameworkID
	}
	if id != "" {
		info.ID = &mesos.FrameworkID{Value: id}
	}
	return info
}

// send makes one call on a subscription's caller.
func (b *Backend) send(ctx context.Context, caller calls.Caller, c *scheduler.Call) error {
	b.mu.Lock()
	id := b.frameworkID
	b.mu.Unlock()
	if id != "" {
		c.FrameworkID = &mesos.FrameworkID{Value: id}
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := calls.CallNoData(ctx, caller, c); err != nil {
		return fmt.Errorf("%v call: %w", c.Type, err)
	}
	return nil
}

func teardown() *scheduler.Call { return &scheduler.Call{Type: scheduler.Call_TEARDOWN} }

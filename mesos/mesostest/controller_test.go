package mesostest

import (
	"context"
	"sync"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/backoff"
	"github.com/mesos/mesos-go/api/v1/lib/encoding/codecs"
	"github.com/mesos/mesos-go/api/v1/lib/extras/scheduler/controller"
	"github.com/mesos/mesos-go/api/v1/lib/extras/scheduler/eventrules"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/httpsched"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/events"

	"github.com/stoke-run/stoke/internal/testutil"
)

// mesos-go's controller loop with its AckStatusUpdates rule runs a command
// task to completion against the test cluster.
func TestMesosGoController(t *testing.T) {
	c := Start(t, Options{})
	cli := httpcli.New(httpcli.Endpoint(c.SchedulerURL()), httpcli.Codec(codecs.ByMediaType[codecs.MediaTypeProtobuf]))
	base := httpsched.NewCaller(cli)
	var mu sync.Mutex
	var fwID string
	caller := calls.CallerFunc(func(ctx context.Context, call *scheduler.Call) (mesos.Response, error) {
		mu.Lock()
		if call.Type != scheduler.Call_SUBSCRIBE {
			call.FrameworkID = &mesos.FrameworkID{Value: fwID}
		}
		mu.Unlock()
		return base.Call(ctx, call)
	})
	ctx, cancel := context.WithTimeout(context.Background(), testutil.D(20*time.Second))
	defer cancel()
	launched := false
	var final mesos.TaskState
	handler := eventrules.New(controller.AckStatusUpdates(caller)).Handle(events.HandlerFuncs{
		scheduler.Event_SUBSCRIBED: func(ctx context.Context, e *scheduler.Event) error {
			mu.Lock()
			fwID = e.Subscribed.FrameworkID.Value
			mu.Unlock()
			return nil
		},
		scheduler.Event_OFFERS: func(ctx context.Context, e *scheduler.Event) error {
			for _, o := range e.Offers.Offers {
				call := calls.Decline(o.ID).With(calls.RefuseSeconds(time.Hour))
				if !launched {
					launched = true
					call = calls.Accept(calls.OfferOperations{calls.OpLaunch(CommandTask("ctl", o, 1, 64, "true"))}.WithOffers(o.ID))
				}
				if err := calls.CallNoData(ctx, caller, call); err != nil {
					return err
				}
			}
			return nil
		},
		scheduler.Event_UPDATE: func(ctx context.Context, e *scheduler.Event) error {
			if st := e.Update.Status.GetState(); isTerminal(st) {
				final = st
				cancel()
			}
			return nil
		},
	})
	_ = controller.Run(ctx, &mesos.FrameworkInfo{User: "stoke", Name: "controller"}, caller,
		controller.WithEventHandler(handler),
		controller.WithRegistrationTokens(backoff.Notifier(100*time.Millisecond, time.Second, ctx.Done())))
	if final != mesos.TASK_FINISHED {
		t.Fatalf("final state %v", final)
	}
	Eventually(t, 5*time.Second, "terminal update acknowledged", func() bool {
		v, _ := c.Task(fwID, "ctl")
		return v.PendingUpdates == 0
	})
}

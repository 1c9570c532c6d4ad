package executor

import (
	"context"
	"fmt"
	"time"

	"github.com/stoke-run/stoke/internal/registry"
	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
	"github.com/stoke-run/stoke/internal/shared"
)

// Shared variables on the executor side: a task's registered functions
// reach their attempt (for accumulator updates) through the task's
// context, and broadcast values are fetched from the driver once per
// executor process.

// applyFunc runs a narrow function over a partition, handing functions
// registered with a TaskContext their attempt and built-ins their
// partition's parameters.
func applyFunc(ctx context.Context, f *registry.Func, records any, params []byte) (any, error) {
	switch {
	case f.ApplyTask != nil:
		return f.ApplyTask(shared.TaskFrom(ctx), records), nil
	case f.ApplyParams != nil:
		out, err := f.ApplyParams(records, params)
		if err != nil {
			return nil, fmt.Errorf("function %q: %w", f.Name, err)
		}
		return out, nil
	case f.Apply != nil:
		return f.Apply(records), nil
	}
	return nil, fmt.Errorf("function %q is a %s function and cannot transform records", f.Name, f.Kind)
}

// eachFunc runs a foreach function over a partition.
func eachFunc(ctx context.Context, f *registry.Func, records any) {
	if f.EachTask != nil {
		f.EachTask(shared.TaskFrom(ctx), records)
		return
	}
	f.Each(records)
}

// withAccumUpdates puts the attempt's accumulator updates on its status.
// Every final state carries them (the driver merges only the attempt it
// accepts); an update that cannot be encoded fails a successful attempt.
func withAccumUpdates(st *pb.TaskStatus, task *shared.Task) {
	ups, err := task.Updates()
	if err != nil {
		if st.State == pb.TaskState_SUCCEEDED {
			st.State, st.Result, st.Error = pb.TaskState_FAILED, nil, err.Error()
		}
		return
	}
	st.AccumUpdates = ups
}

// broadcastFetcher fetches broadcast values over the driver's
// FetchBroadcast RPC, waiting at most timeout for one value.
func broadcastFetcher(client pb.DriverClient, executorID string, timeout time.Duration) shared.Fetcher {
	return func(name string) (int64, []byte, error) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		stream, err := client.FetchBroadcast(ctx, &pb.BroadcastRequest{Name: name, ExecutorId: executorID})
		if err != nil {
			return 0, nil, fmt.Errorf("fetching broadcast variable %q from the driver: %w", name, err)
		}
		v, data, err := shared.Receive(stream.Recv, 0)
		if err != nil {
			return 0, nil, fmt.Errorf("fetching broadcast variable %q from the driver: %w", name, err)
		}
		return v, data, nil
	}
}

package executor

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/stoke-run/stoke/internal/registry"
	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
)

// A built-in step gets its parameters from the task; over a concatenation
// it stops reading once it has what it needs.
func TestBuiltinStepsOverAConcatenation(t *testing.T) {
	env := &Env{Blocks: NewBlockStore()}
	ints := registry.TypeName[int]()
	part := func(recs ...int) *pb.Pipeline {
		b, _ := registry.EncodeSlice(recs)
		return &pb.Pipeline{Source: &pb.Source{Kind: &pb.Source_Parallelize{Parallelize: b}, Type: ints}}
	}
	concat := &pb.Source{Kind: &pb.Source_Concat{Concat: &pb.Concat{Parts: []*pb.Pipeline{part(1, 2), part(3, 4, 5), part(6)}}}, Type: ints}
	collect := &pb.Sink{Kind: &pb.Sink_Collect{Collect: ints}}
	st := Run(context.Background(), env, &pb.TaskDesc{TaskId: 1, Source: concat,
		Steps: []*pb.Step{{Func: registry.LimitFunc(ints), Params: registry.EncodeInt(4)}}, Sink: collect})
	if st.State != pb.TaskState_SUCCEEDED {
		t.Fatalf("limit: %v %s", st.State, st.Error)
	}
	got, err := registry.DecodeSlice[int](st.Result.Value)
	if err != nil || !slices.Equal(got, []int{1, 2, 3, 4}) {
		t.Fatalf("limit 4 over a concatenation = %v, %v", got, err)
	}
	if st.Metrics.RecordsIn != 5 {
		t.Errorf("read %d records for a limit of 4; the third part should not be opened", st.Metrics.RecordsIn)
	}
	st = Run(context.Background(), env, &pb.TaskDesc{TaskId: 2, Source: concat,
		Steps: []*pb.Step{{Func: registry.SampleFunc(ints), Params: []byte{1, 2, 3}}}, Sink: collect})
	if st.State != pb.TaskState_FAILED || !strings.Contains(st.Error, `function "stoke.sample[int]": malformed sample parameters`) {
		t.Fatalf("malformed sample parameters: %v %q", st.State, st.Error)
	}
}

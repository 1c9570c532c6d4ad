package driver

import (
	"errors"
	"strings"
	"testing"

	"github.com/stoke-run/stoke/internal/plan"
	"github.com/stoke-run/stoke/internal/registry"
	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
)

// Jobs over malformed lineages are refused before any task runs, with
// what is wrong.
func TestValidateRefusesMalformedNarrowNodes(t *testing.T) {
	ints := registry.TypeName[int]()
	src := &plan.Node{ID: 1, Kind: plan.Parallelize, NumPartitions: 2, Type: ints, Data: [][]byte{nil, nil}}
	one := registry.EncodeInt(1)
	count := &pb.Sink{Kind: &pb.Sink_Count{Count: true}}
	cases := []struct {
		node *plan.Node
		want string
	}{
		{&plan.Node{ID: 2, Kind: plan.Narrow, Op: registry.LimitFunc(ints), Parents: []*plan.Node{src}, NumPartitions: 2, Type: ints, StepParams: [][]byte{one}},
			`"stoke.limit[int]" takes parameters per partition: 1 for 2 partitions`},
		{&plan.Node{ID: 3, Kind: plan.Coalesce, Parents: []*plan.Node{src}, NumPartitions: 2, Type: ints, Groups: [][]int{{0, 1}, {}}},
			"coalesce partition 1 reads no partition"},
		{&plan.Node{ID: 4, Kind: plan.Narrow, Parents: []*plan.Node{
			{ID: 5, Kind: plan.Narrow, Parents: []*plan.Node{src}, NumPartitions: 2, Type: ints, Err: errors.New("Coalesce into 0 partitions")},
		}, Op: registry.LimitFunc(ints), NumPartitions: 2, Type: ints, StepParams: [][]byte{one, one}},
			"job refused: Coalesce into 0 partitions"},
	}
	for _, c := range cases {
		if err := validate(c.node, count); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("validate: %v, want it to mention %q", err, c.want)
		}
	}
	ok := &plan.Node{ID: 6, Kind: plan.Narrow, Op: registry.LimitFunc(ints), Parents: []*plan.Node{src}, NumPartitions: 2, Type: ints, StepParams: [][]byte{one, one}}
	if err := validate(ok, count); err != nil {
		t.Errorf("a built-in with its parameters refused: %v", err)
	}
}

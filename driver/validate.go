package driver

import (
	"fmt"

	"github.com/stoke-run/stoke/internal/plan"
	"github.com/stoke-run/stoke/internal/registry"
	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
)

// validate refuses a job that names a function or type this binary does not
// have, before any task runs (executors run the same binary, so they would
// fail every attempt the same way).
func validate(n *plan.Node, sink *pb.Sink) error {
	seen := map[int]bool{}
	var walk func(*plan.Node) error
	walk = func(n *plan.Node) error {
		if seen[n.ID] {
			return nil
		}
		seen[n.ID] = true
		if n.Err != nil {
			return n.Err
		}
		switch n.Kind {
		case plan.Narrow:
			f, err := registry.LookupFunc(n.Op)
			if err != nil {
				return err
			}
			if !f.Transforms() {
				return fmt.Errorf("function %q is a %s function and cannot transform a dataset", n.Op, f.Kind)
			}
			if f.ApplyParams != nil && len(n.StepParams) != n.NumPartitions {
				return fmt.Errorf("function %q takes parameters per partition: %d for %d partitions", n.Op, len(n.StepParams), n.NumPartitions)
			}
		case plan.Shuffle:
			s, err := registry.LookupShuffle(n.Op)
			if err != nil {
				return err
			}
			if s.Sides != len(n.Parents) {
				return fmt.Errorf("keyed operator %q takes %d inputs, got %d", n.Op, s.Sides, len(n.Parents))
			}
		case plan.Parallelize:
			if _, err := registry.LookupType(n.Type); err != nil {
				return err
			}
		case plan.Union:
			total := 0
			for _, p := range n.Parents {
				if p.Type != n.Type {
					return fmt.Errorf("union of %s with %s", n.Type, p.Type)
				}
				total += p.NumPartitions
			}
			if total != n.NumPartitions {
				return fmt.Errorf("union of %d partitions claims %d", total, n.NumPartitions)
			}
		case plan.Coalesce:
			if len(n.Parents) != 1 || len(n.Groups) != n.NumPartitions {
				return fmt.Errorf("coalesce into %d partitions has %d groups", n.NumPartitions, len(n.Groups))
			}
			for i, g := range n.Groups {
				if len(g) == 0 {
					return fmt.Errorf("coalesce partition %d reads no partition", i)
				}
				for _, q := range g {
					if q < 0 || q >= n.Parents[0].NumPartitions {
						return fmt.Errorf("coalesce reads partition %d of %d", q, n.Parents[0].NumPartitions)
					}
				}
			}
		}
		for _, p := range n.Parents {
			if err := walk(p); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(n); err != nil {
		return fmt.Errorf("stoke: job refused: %w", err)
	}
	switch k := sink.Kind.(type) {
	case *pb.Sink_Reduce:
		if f, err := registry.LookupFunc(k.Reduce); err != nil {
			return fmt.Errorf("stoke: job refused: %w", err)
		} else if f.Reduce == nil {
			return fmt.Errorf("stoke: job refused: function %q is a %s function, not a reduce function", k.Reduce, f.Kind)
		}
	case *pb.Sink_Foreach:
		if f, err := registry.LookupFunc(k.Foreach); err != nil {
			return fmt.Errorf("stoke: job refused: %w", err)
		} else if !f.Consumes() {
			return fmt.Errorf("stoke: job refused: function %q is a %s function, not a foreach function", k.Foreach, f.Kind)
		}
	case *pb.Sink_Collect:
		if _, err := registry.LookupType(k.Collect); err != nil {
			return fmt.Errorf("stoke: job refused: %w", err)
		}
	}
	return nil
}

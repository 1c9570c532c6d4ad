// Package plan is a dataset's lineage as the driver sees it: a graph of
// untyped nodes (sources, narrow functions, keyed shuffles) from which the
// DAG scheduler cuts stages. The typed API builds it; nothing here runs.
package plan

// Kind is what a node does.
type Kind int

const (
	Parallelize Kind = iota // records held by the driver, encoded per partition
	TextFile                // lines of files, split by byte ranges
	Narrow                  // a registered function applied to each partition
	Shuffle                 // a registered keyed operator over 1 or 2 parents
	Union                   // the partitions of every parent, in order
	Coalesce                // each partition concatenates a group of the parent's
)

// Node is one dataset in the lineage.
type Node struct {
	ID            int
	Kind          Kind
	Op            string // function (Narrow) or keyed operator (Shuffle)
	Parents       []*Node
	NumPartitions int
	Type          string      // element type name
	Name          string      // for the UI
	Data          [][]byte    // Parallelize: encoded records per partition
	Splits        []TextSplit // TextFile
	// Params are a keyed operator's parameters, given to both sides of
	// its shuffle (for example the range bounds of a sort).
	Params []byte
	// Groups are, for a Coalesce node, the parent partitions each
	// partition reads, in order.
	Groups [][]int
	// StepParams are per-partition parameters of a Narrow node's function
	// (for example the first index of each partition for zipWithIndex);
	// nil for most.
	StepParams [][]byte
	// NoSpeculation turns speculative execution off for the stage that
	// computes this node.
	NoSpeculation bool
	// Persist is the storage level the dataset is cached at (0: not
	// cached); set on a copy of the node by Persist.
	Persist int
	// CopyOf is the node this one is a marked copy of (Persist), nil for
	// most: a copy of a Shuffle node reads its original's shuffle.
	CopyOf *Node
	// Err, when set, is why the dataset cannot be computed (an operator
	// was given an invalid argument): every job over it is refused with
	// this error.
	Err error
}

// FirstErr is the Err of n or of the first of its ancestors that has one.
func FirstErr(n *Node) error {
	seen := map[int]bool{}
	var walk func(*Node) error
	walk = func(n *Node) error {
		if n == nil || seen[n.ID] {
			return nil
		}
		seen[n.ID] = true
		if n.Err != nil {
			return n.Err
		}
		for _, p := range n.Parents {
			if err := walk(p); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(n)
}

// Origin is the node n copies (following CopyOf), or n.
func (n *Node) Origin() *Node {
	for n.CopyOf != nil {
		n = n.CopyOf
	}
	return n
}

// Storage levels of a persisted node (Node.Persist); the stoke package's
// StorageLevel values are these.
const (
	MemoryOnly    = 1 // encoded block in memory; dropped when evicted
	MemoryAndDisk = 2 // encoded block in memory; written to disk when evicted
	DiskOnly      = 3 // encoded block on local disk
)

// TextSplit is a byte range of one file and the hosts that hold it.
type TextSplit struct {
	Path   string
	Start  int64
	Length int64
	Hosts  []string
}

// Part is what computes one partition within a stage: a partition of a
// source node (Parallelize, TextFile or Shuffle), or a concatenation of
// parts (Coalesce), followed by the Narrow nodes applied after it.
type Part struct {
	Source    *Node
	Partition int    // of Source
	Concat    []Part // instead of Source
	Steps     []Step
	// Persisted is the Union or Coalesce node whose cached output the
	// concatenation is (nil when not cached), at partition PersistedPart;
	// steps carry their own Persist.
	Persisted     *Node
	PersistedPart int
}

// Step is a Narrow node applied to one of its partitions.
type Step struct {
	Node      *Node
	Partition int
}

// PartOf walks from partition p of n back to the start of its stage.
func PartOf(n *Node, p int) Part {
	switch n.Kind {
	case Narrow:
		part := PartOf(n.Parents[0], p)
		part.Steps = append(part.Steps[:len(part.Steps):len(part.Steps)], Step{n, p})
		return part
	case Union:
		p0 := p
		for _, parent := range n.Parents {
			if p < parent.NumPartitions {
				part := PartOf(parent, p)
				if n.Persist != 0 {
					return Part{Concat: []Part{part}, Persisted: n, PersistedPart: p0}
				}
				return part
			}
			p -= parent.NumPartitions
		}
		panic("plan: union partition out of range")
	case Coalesce:
		part := Part{}
		if n.Persist != 0 {
			part.Persisted, part.PersistedPart = n, p
		}
		for _, q := range n.Groups[p] {
			part.Concat = append(part.Concat, PartOf(n.Parents[0], q))
		}
		return part
	default:
		return Part{Source: n, Partition: p}
	}
}

// StageSources lists the source nodes a stage ending at n reads (through
// Narrow, Union and Coalesce nodes), and whether any node on the way turns
// speculation off.
func StageSources(n *Node) (sources []*Node, noSpec bool) {
	seen := map[int]bool{}
	var walk func(*Node)
	walk = func(n *Node) {
		if seen[n.ID] {
			return
		}
		seen[n.ID] = true
		noSpec = noSpec || n.NoSpeculation
		switch n.Kind {
		case Narrow, Union, Coalesce:
			for _, p := range n.Parents {
				walk(p)
			}
		default:
			sources = append(sources, n)
		}
	}
	walk(n)
	return sources, noSpec
}

// Type is the element type a part produces.
func (p Part) Type() string {
	if len(p.Steps) > 0 {
		return p.Steps[len(p.Steps)-1].Node.Type
	}
	if p.Persisted != nil {
		return p.Persisted.Type
	}
	if p.Source != nil {
		return p.Source.Type
	}
	if len(p.Concat) > 0 {
		return p.Concat[0].Type()
	}
	return ""
}

// Walk visits p and, when visit returns true, the parts it concatenates,
// depth first.
func (p Part) Walk(visit func(Part) bool) {
	if !visit(p) {
		return
	}
	for _, sub := range p.Concat {
		sub.Walk(visit)
	}
}

// SplitHosts are the hosts holding the file split p reads itself (none
// for a concatenation or a source other than a text file).
func (p Part) SplitHosts() []string {
	if p.Source == nil || p.Source.Kind != TextFile || p.Partition >= len(p.Source.Splits) {
		return nil
	}
	return p.Source.Splits[p.Partition].Hosts
}

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
	// NoSpeculation turns speculative execution off for the stage that
	// computes this node.
	NoSpeculation bool
}

// TextSplit is a byte range of one file and the hosts that hold it.
type TextSplit struct {
	Path   string
	Start  int64
	Length int64
	Hosts  []string
}

// Pipeline walks from n back to the start of its stage: the source node (a
// Parallelize, TextFile or Shuffle node) and the narrow functions applied
// after it, in order.
func Pipeline(n *Node) (source *Node, ops []string, noSpec bool) {
	var rev []string
	for n.Kind == Narrow {
		rev = append(rev, n.Op)
		noSpec = noSpec || n.NoSpeculation
		n = n.Parents[0]
	}
	noSpec = noSpec || n.NoSpeculation
	ops = make([]string, len(rev))
	for i := range rev {
		ops[i] = rev[len(rev)-1-i]
	}
	return n, ops, noSpec
}

package driver

import (
	"fmt"
	"runtime"

	"github.com/stoke-run/stoke/backend"
	"github.com/stoke-run/stoke/driver/sched"
	"github.com/stoke-run/stoke/internal/plan"
	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
)

// stage is a set of tasks that run the same pipeline over the partitions of
// one node: a shuffle map stage ends in shuffle buckets, a result stage in
// the job's sink.
type stage struct {
	id            int
	name          string
	tail          *plan.Node
	sources       []*plan.Node // the source nodes its pipelines read
	noSpec        bool
	numPartitions int
	parents       []*stage
	shuffle       *shuffleDep // nil for a result stage
	job           *job        // result stage: its job
	jobs          map[int]*job
	nextAttempt   int
	running       bool
	waiting       bool
	tsID          sched.TaskSetID
	fetchFailures int
}

// shuffleDep is one side of a keyed operator: the map stage's output,
// tracked per map partition (the map output tracker).
type shuffleDep struct {
	id        int32
	op        string // the keyed operator
	params    []byte
	nodeID    int // the shuffle node (held weakly: see shuffleNodeGone)
	side      int
	numReduce int
	outputs   []*mapOutput
	available int
}

type mapOutput struct {
	taskID  int64
	execID  string
	address string
	sizes   []int64
}

func (s *stage) isAvailable() bool {
	return s.shuffle == nil || s.shuffle.available == s.numPartitions
}

func (s *stage) String() string { return fmt.Sprintf("stage %d (%s)", s.id, s.name) }

type shuffleKey struct{ node, side int }

// newResultStage builds the stages of a job, reusing shuffle map stages that
// earlier jobs created for the same lineage.
func (c *Context) newResultStage(j *job, n *plan.Node) *stage {
	s := c.newStage(n)
	s.job = j
	return s
}

func (c *Context) newStage(n *plan.Node) *stage {
	sources, noSpec := plan.StageSources(n)
	s := &stage{
		id:            c.nextStage,
		name:          n.Name,
		tail:          n,
		sources:       sources,
		noSpec:        noSpec,
		numPartitions: n.NumPartitions,
		jobs:          map[int]*job{},
	}
	c.nextStage++
	c.stages[s.id] = s
	for _, src := range sources {
		if src.Kind == plan.Shuffle {
			for side, p := range src.Parents {
				s.parents = append(s.parents, c.shuffleStage(src, side, p))
			}
		}
	}
	return s
}

func (c *Context) shuffleStage(shuffleNode *plan.Node, side int, parent *plan.Node) *stage {
	// A persisted copy of a shuffle node shares its original's shuffle.
	shuffleNode = shuffleNode.Origin()
	key := shuffleKey{shuffleNode.ID, side}
	if s, ok := c.shuffleStages[key]; ok {
		return s
	}
	s := c.newStage(parent)
	dep := &shuffleDep{
		id:        c.nextShuffle,
		op:        shuffleNode.Op,
		params:    shuffleNode.Params,
		nodeID:    shuffleNode.ID,
		side:      side,
		numReduce: shuffleNode.NumPartitions,
		outputs:   make([]*mapOutput, parent.NumPartitions),
	}
	c.nextShuffle++
	s.shuffle = dep
	if side == 0 {
		// Once no dataset refers to the shuffle node, no job can read
		// this output again: the driver forgets it and executors free it.
		runtime.AddCleanup(shuffleNode, c.shuffleNodeGone, shuffleNode.ID)
	}
	c.shuffleStages[key] = s
	c.shuffles[dep.id] = s
	return s
}

// ancestors lists s and every stage it depends on.
func ancestors(s *stage, seen map[int]bool, out []*stage) []*stage {
	if seen[s.id] {
		return out
	}
	seen[s.id] = true
	out = append(out, s)
	for _, p := range s.parents {
		out = ancestors(p, seen, out)
	}
	return out
}

// submitStage runs s if its parents' output is available, or submits the
// parents and parks s until they finish.
func (c *Context) submitStage(s *stage, j *job, a *actions) {
	s.jobs[j.id] = j
	if s.running {
		return
	}
	var missing []*stage
	for _, p := range s.parents {
		if !p.isAvailable() {
			missing = append(missing, p)
		}
	}
	if len(missing) == 0 {
		s.waiting = false
		c.submitTasks(s, j, a)
		return
	}
	s.waiting = true
	for _, p := range missing {
		c.submitStage(p, j, a)
	}
}

// submitTasks submits a task set for the partitions s still lacks.
func (c *Context) submitTasks(s *stage, j *job, a *actions) {
	var parts []int
	if s.shuffle != nil {
		for p, o := range s.shuffle.outputs {
			if o == nil {
				parts = append(parts, p)
			}
		}
	} else {
		for p := 0; p < s.numPartitions; p++ {
			if !s.job.done[p] {
				parts = append(parts, p)
			}
		}
	}
	if len(parts) == 0 {
		c.stageAvailable(s, a)
		return
	}
	ts := sched.TaskSet{
		ID:            sched.TaskSetID{StageID: s.id, StageAttempt: s.nextAttempt},
		JobID:         j.id,
		Pool:          j.pool,
		NoSpeculation: s.noSpec || j.noSpec,
		Tasks:         make([]sched.Task, len(parts)),
	}
	s.nextAttempt++
	for i, p := range parts {
		ts.Tasks[i] = sched.Task{Partition: p, Preferred: c.preferred(s, p)}
	}
	s.running = true
	s.tsID = ts.ID
	c.taskSets[ts.ID] = s
	c.commits.StageStart(s.id)
	var parentIDs []int
	for _, p := range s.parents {
		parentIDs = append(parentIDs, p.id)
	}
	c.post(stageSubmittedEvent(s, ts, j, parentIDs, c.clock.Now()))
	c.handle(c.core.Submit(ts, c.clock.Now()), a)
	a.revive = true
}

func (c *Context) preferred(s *stage, p int) []sched.Location {
	var locs []sched.Location
	seen := map[string]bool{}
	plan.PartOf(s.tail, p).Walk(func(part plan.Part) bool {
		if cached := c.cachedPreferred(part); len(cached) > 0 {
			// Where the part's cached partition is: its task skips the
			// work before it there.
			for _, l := range cached {
				if !seen["exec "+l.ExecutorID] {
					seen["exec "+l.ExecutorID] = true
					locs = append(locs, l)
				}
			}
			return false
		}
		for _, h := range part.SplitHosts() {
			if !seen[h] {
				seen[h] = true
				locs = append(locs, sched.Location{Host: h})
			}
		}
		return true
	})
	return locs
}

// stageAvailable is called when a shuffle map stage has every output (or
// when outputs were lost): every waiting stage is looked at again, and runs
// or resubmits the parents it still lacks.
func (c *Context) stageAvailable(_ *stage, a *actions) {
	for _, w := range c.sortedStages() {
		if !w.waiting || w.running {
			continue
		}
		if j := w.anyJob(); j != nil {
			c.submitStage(w, j, a)
		} else {
			w.waiting = false
		}
	}
}

func (s *stage) anyJob() *job {
	var best *job
	for _, j := range s.jobs {
		if j.finished {
			continue
		}
		if best == nil || j.id < best.id {
			best = j
		}
	}
	return best
}

// taskDesc builds what an executor needs to run one launch.
func (c *Context) taskDesc(l *sched.Launch, s *stage) *pb.TaskDesc {
	p := l.Partition
	t := &pb.TaskDesc{
		TaskId:       l.TaskID,
		JobId:        int32(l.JobID),
		StageId:      int32(s.id),
		StageAttempt: int32(l.TaskSet.StageAttempt),
		Partition:    int32(p),
		Attempt:      int32(l.Attempt),
	}
	t.Source, t.Steps = c.pipeline(plan.PartOf(s.tail, p))
	if s.shuffle != nil {
		t.Sink = &pb.Sink{Kind: &pb.Sink_Shuffle{Shuffle: &pb.ShuffleOutput{
			ShuffleId: s.shuffle.id, Op: s.shuffle.op, Side: int32(s.shuffle.side), NumPartitions: int32(s.shuffle.numReduce),
			Params: s.shuffle.params,
		}}}
	} else {
		t.Sink = s.job.sink
	}
	return t
}

// pipeline describes one part of a stage for the executor.
func (c *Context) pipeline(part plan.Part) (*pb.Source, []*pb.Step) {
	var src *pb.Source
	if part.Source != nil {
		src = c.sourceDesc(part.Source, part.Partition)
	} else {
		cc := &pb.Concat{}
		for _, sub := range part.Concat {
			ssrc, ssteps := c.pipeline(sub)
			cc.Parts = append(cc.Parts, &pb.Pipeline{Source: ssrc, Steps: ssteps})
		}
		src = &pb.Source{Kind: &pb.Source_Concat{Concat: cc}, Type: part.Type()}
		if n := part.Persisted; n != nil {
			src.Persist = &pb.Persist{Node: int32(n.ID), Level: int32(n.Persist), Partition: int32(part.PersistedPart)}
		}
	}
	steps := make([]*pb.Step, len(part.Steps))
	for i, st := range part.Steps {
		n := st.Node
		steps[i] = &pb.Step{Func: n.Op}
		if st.Partition < len(n.StepParams) {
			steps[i].Params = n.StepParams[st.Partition]
		}
		if n.Persist != 0 {
			steps[i].Persist = &pb.Persist{Node: int32(n.ID), Level: int32(n.Persist), Partition: int32(st.Partition)}
		}
	}
	return src, steps
}

// sourceDesc describes partition p of a source node.
func (c *Context) sourceDesc(src *plan.Node, p int) *pb.Source {
	var out *pb.Source
	switch src.Kind {
	case plan.Parallelize:
		out = &pb.Source{Kind: &pb.Source_Parallelize{Parallelize: src.Data[p]}, Type: src.Type}
	case plan.TextFile:
		sp := src.Splits[p]
		out = &pb.Source{Kind: &pb.Source_Text{Text: &pb.TextSplit{Path: sp.Path, Start: sp.Start, Length: sp.Length}}, Type: src.Type}
	case plan.Shuffle:
		in := &pb.ShuffleInput{Op: src.Op, ReducePartition: int32(p), Params: src.Params}
		for side := range src.Parents {
			dep := c.shuffleStages[shuffleKey{src.Origin().ID, side}].shuffle
			sd := &pb.ShuffleSide{ShuffleId: dep.id, Outputs: make([]*pb.MapOutput, len(dep.outputs))}
			for mp, o := range dep.outputs {
				if o == nil {
					// Lost since the stage was submitted: make the fetch
					// fail so the map stage is recomputed.
					sd.Outputs[mp] = &pb.MapOutput{MapPartition: int32(mp), Size: -1, ExecutorId: "(lost)"}
					continue
				}
				sd.Outputs[mp] = &pb.MapOutput{MapPartition: int32(mp), TaskId: o.taskID, ExecutorId: o.execID, Address: o.address, Size: o.sizes[p]}
			}
			in.Sides = append(in.Sides, sd)
		}
		out = &pb.Source{Kind: &pb.Source_Shuffle{Shuffle: in}, Type: src.Type}
	}
	if src.Persist != 0 {
		out.Persist = &pb.Persist{Node: int32(src.ID), Level: int32(src.Persist), Partition: int32(p)}
	}
	return out
}

// removeOutputsOn forgets every map output held by a lost executor.
func (c *Context) removeOutputsOn(execID string) {
	for _, s := range c.shuffles {
		for p, o := range s.shuffle.outputs {
			if o != nil && o.execID == execID {
				s.shuffle.outputs[p] = nil
				s.shuffle.available--
			}
		}
	}
}

// shuffleNodeGone forgets the map stages of a shuffle node the program no
// longer references and asks the executors to drop their output.
func (c *Context) shuffleNodeGone(nodeID int) {
	var ids []int32
	c.mu.Lock()
	for side := 0; ; side++ {
		s, ok := c.shuffleStages[shuffleKey{nodeID, side}]
		if !ok {
			break
		}
		if s.running || s.waiting {
			// Cannot happen while a job holds the lineage; keep it if so.
			continue
		}
		delete(c.shuffleStages, shuffleKey{nodeID, side})
		delete(c.shuffles, s.shuffle.id)
		delete(c.stages, s.id)
		ids = append(ids, s.shuffle.id)
	}
	stopped := c.stopped
	c.mu.Unlock()
	if r, ok := c.be.(backend.ShuffleReleaser); ok && len(ids) > 0 && !stopped {
		r.ReleaseShuffles(ids)
	}
}

// NumShuffles counts the shuffle outputs the driver tracks.
func (c *Context) NumShuffles() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.shuffles)
}

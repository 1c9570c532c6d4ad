package sched

// CommitCoordinator decides which attempt of a task may commit its output
// ("first committer wins", SPEC §5): the first attempt that asks for a
// (stage, stage attempt, partition) is authorized, every other one is
// denied, until the authorized attempt ends unsuccessfully. A partition's
// lock spans the stage's attempts, so a stray attempt of an older stage
// attempt cannot commit a second time. It is pure and not safe for
// concurrent use.
type CommitCoordinator struct {
	stages map[int]*stageCommits
}

type committer struct {
	stageAttempt int
	taskID       int64
}

type stageCommits struct {
	authorized map[int]committer // partition -> authorized attempt
	failed     map[int]map[committer]bool
}

// NewCommitCoordinator returns an empty coordinator.
func NewCommitCoordinator() *CommitCoordinator {
	return &CommitCoordinator{stages: map[int]*stageCommits{}}
}

// StageStart makes a stage active; asks for inactive stages are denied.
// Calling it again for a new attempt of an active stage keeps its state.
func (c *CommitCoordinator) StageStart(stage int) {
	if c.stages[stage] == nil {
		c.stages[stage] = &stageCommits{authorized: map[int]committer{}, failed: map[int]map[committer]bool{}}
	}
}

// StageEnd forgets the stage.
func (c *CommitCoordinator) StageEnd(stage int) { delete(c.stages, stage) }

// CanCommit reports whether the attempt may commit the partition's output.
// It is idempotent: the authorized attempt asking again is authorized
// again. An attempt already reported as failed is denied.
func (c *CommitCoordinator) CanCommit(stage, stageAttempt, partition int, taskID int64) bool {
	st := c.stages[stage]
	if st == nil {
		return false
	}
	who := committer{stageAttempt, taskID}
	if st.failed[partition][who] {
		return false
	}
	if cur, ok := st.authorized[partition]; ok {
		return cur == who
	}
	st.authorized[partition] = who
	return true
}

// TaskEnded records the end of an attempt. An unsuccessful end of the
// authorized attempt releases the partition for a later asker.
func (c *CommitCoordinator) TaskEnded(stage, stageAttempt, partition int, taskID int64, succeeded bool) {
	st := c.stages[stage]
	if st == nil || succeeded {
		return
	}
	who := committer{stageAttempt, taskID}
	if st.failed[partition] == nil {
		st.failed[partition] = map[committer]bool{}
	}
	st.failed[partition][who] = true
	if st.authorized[partition] == who {
		delete(st.authorized, partition)
	}
}

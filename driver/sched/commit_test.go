package sched

import "testing"

func TestCommitCoordinator(t *testing.T) {
	c := NewCommitCoordinator()
	if c.CanCommit(1, 0, 0, 10) {
		t.Fatal("inactive stage authorized")
	}
	c.StageStart(1)
	if !c.CanCommit(1, 0, 0, 10) {
		t.Fatal("first asker denied")
	}
	if !c.CanCommit(1, 0, 0, 10) {
		t.Fatal("authorized attempt denied on asking again")
	}
	if c.CanCommit(1, 0, 0, 11) {
		t.Fatal("second asker authorized")
	}
	if !c.CanCommit(1, 0, 1, 11) {
		t.Fatal("other partition denied")
	}
	// A loser's end changes nothing.
	c.TaskEnded(1, 0, 0, 11, false)
	if c.CanCommit(1, 0, 0, 12) {
		t.Fatal("authorized after a non-authorized attempt failed")
	}
	// A successful end keeps the lock.
	c.TaskEnded(1, 0, 1, 11, true)
	if c.CanCommit(1, 0, 1, 13) {
		t.Fatal("authorized after the committer succeeded")
	}
	// The authorized attempt fails: a later asker may commit, the failed
	// one never again.
	c.TaskEnded(1, 0, 0, 10, false)
	if c.CanCommit(1, 0, 0, 10) {
		t.Fatal("failed attempt authorized")
	}
	if !c.CanCommit(1, 0, 0, 12) {
		t.Fatal("later asker denied after the committer failed")
	}
	// The lock spans stage attempts: a new attempt cannot commit twice.
	c.StageStart(1)
	if c.CanCommit(1, 1, 0, 20) {
		t.Fatal("new stage attempt authorized over an existing committer")
	}
	c.StageEnd(1)
	if c.CanCommit(1, 1, 0, 20) {
		t.Fatal("ended stage authorized")
	}
	c.StageStart(1)
	if !c.CanCommit(1, 1, 0, 20) {
		t.Fatal("restarted stage denied")
	}
}

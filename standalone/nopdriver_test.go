package standalone_test

import (
	"github.com/stoke-run/stoke/backend"
	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
)

// nopDriver receives backend events and ignores them.
type nopDriver struct{}

func (nopDriver) ExecutorAdded(backend.ExecutorInfo)     {}
func (nopDriver) ExecutorLost(string, string)            {}
func (nopDriver) StatusUpdate(string, ...*pb.TaskStatus) {}
func (nopDriver) CanCommit(*pb.CommitRequest) bool       { return false }

package driver

import (
	"github.com/stoke-run/stoke/internal/shared"
)

// acceptAccumUpdates merges the accumulator updates of the attempt being
// handled (c.cur), which the scheduling core has just accepted as its
// partition's success. Only accepted attempts are merged, so a result
// stage's updates count once per partition whatever speculative copies,
// retries or failed attempts ran (Spark's rule for actions). A shuffle map
// stage computed again (its output was lost) counts again, as in Spark.
// c.mu is held.
func (c *Context) acceptAccumUpdates() {
	if c.cur == nil || len(c.cur.AccumUpdates) == 0 {
		return
	}
	if err := shared.MergeUpdates(c.cur.AccumUpdates); err != nil {
		c.log.WithError(err).Warnf("accumulator updates of task %d", c.cur.TaskId)
	}
}

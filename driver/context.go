package driver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
	"google.golang.org/protobuf/proto"

	"github.com/stoke-run/stoke/backend"
	"github.com/stoke-run/stoke/driver/sched"
	"github.com/stoke-run/stoke/internal/clock"
	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/internal/events"
	"github.com/stoke-run/stoke/internal/plan"
	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
)

// Options configure a Context.
type Options struct {
	Conf    *conf.Conf
	Backend backend.Backend
	Log     *logrus.Logger
	Clock   clock.Clock // nil: the real clock
	// Listeners receive every event besides the built-in UI, event log and
	// progress bar (tests use this to record what happened).
	Listeners []events.Listener
}

// Context is one application's driver. It is safe for concurrent use: jobs
// submitted from many goroutines compete for executor slots under the
// scheduling mode.
type Context struct {
	mu       sync.Mutex
	conf     *conf.Conf
	log      *logrus.Logger
	clock    clock.Clock
	be       backend.Backend
	core     *sched.Scheduler
	commits  *sched.CommitCoordinator
	settings settings
	obs      *observers
	dyn      *dynAlloc // nil without dynamic allocation

	appID         string
	stages        map[int]*stage
	shuffleStages map[shuffleKey]*stage
	shuffles      map[int32]*stage
	cached        map[int]*cachedRDD // persisted nodes by id (cache.go)
	taskSets      map[sched.TaskSetID]*stage
	tasks         map[int64]*taskRun
	executors     map[string]backend.ExecutorInfo
	unusable      map[string]bool // launch failed: no offers until re-registered or lost
	launchWarns   warnLimiter
	jobs          map[int]*job
	nextJob       int
	nextStage     int
	nextShuffle   int32
	nextNode      atomic.Int64
	launchBuf     []sched.Launch
	cur           *pb.TaskStatus // the status being handled, for its result
	curRun        *taskRun       // and its attempt
	stopped       bool
	ended         error         // the cluster manager ended the application
	interrupted   atomic.Bool   // a signal is stopping the application (signals.go)
	stopDone      chan struct{} // closed when Stop is done
	ticker        clock.Timer
	startTime     time.Time
	// partsTotal and partsDone count the result partitions of every job
	// run so far, and those computed: the application's progress.
	partsTotal, partsDone int

	// releaseReasons says why the driver is giving executors back (their
	// ExecutorRemoved carries it); decoms are those moving their shuffle
	// output first (decommission.go), migrated how many outputs moved.
	releaseReasons map[string]string
	decoms         map[string]*decommission
	migrated       map[string]int
	nextDecom      int64
}

type taskRun struct {
	stage  *stage
	launch sched.Launch
}

type job struct {
	id         int
	pool       string
	desc       string
	noSpec     bool
	sink       *pb.Sink
	final      *stage
	results    []*pb.TaskResult
	done       []bool
	numDone    int
	resultSize int64
	finished   bool
	err        error
	doneCh     chan struct{}
}

// actions are backend calls decided under the lock and made after it.
type actions struct {
	launches map[string][]*pb.TaskDesc
	kills    []sched.Kill
	revive   bool
}

var active atomic.Int32

// ErrStopped is returned for jobs submitted to, or running in, a stopped Context.
var ErrStopped = errors.New("stoke: the Context is stopped")

// New starts a driver on the given backend.
func New(opts Options) (*Context, error) {
	if opts.Conf == nil {
		opts.Conf = conf.New()
	}
	if opts.Log == nil {
		opts.Log = logrus.StandardLogger()
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Backend == nil {
		return nil, errors.New("stoke: no backend")
	}
	st, err := loadSettings(opts.Conf)
	if err != nil {
		return nil, err
	}
	allowMany, err := opts.Conf.Bool("stoke.driver.allowMultipleContexts")
	if err != nil {
		return nil, err
	}
	if n := active.Add(1); n > 1 && !allowMany {
		active.Add(-1)
		return nil, errors.New("stoke: a Context is already running in this process; stop it first, or set stoke.driver.allowMultipleContexts=true")
	}
	core, warnings, err := sched.New(st.sched)
	if err != nil {
		active.Add(-1)
		return nil, err
	}
	c := &Context{
		conf:          opts.Conf,
		log:           opts.Log,
		clock:         opts.Clock,
		be:            opts.Backend,
		core:          core,
		commits:       sched.NewCommitCoordinator(),
		settings:      st,
		stages:        map[int]*stage{},
		shuffleStages: map[shuffleKey]*stage{},
		shuffles:      map[int32]*stage{},
		taskSets:      map[sched.TaskSetID]*stage{},
		tasks:         map[int64]*taskRun{},
		executors:     map[string]backend.ExecutorInfo{},
		unusable:      map[string]bool{},
		jobs:          map[int]*job{},
		startTime:     opts.Clock.Now(),
	}
	c.releaseReasons, c.decoms, c.migrated = map[string]string{}, map[string]*decommission{}, map[string]int{}
	for _, w := range append(warnings, st.warnings...) {
		c.log.Warn(w)
	}
	obs, err := startObservers(c, opts.Listeners)
	if err != nil {
		active.Add(-1)
		return nil, err
	}
	c.obs = obs
	if err := c.be.Start(context.Background(), c); err != nil {
		obs.close()
		active.Add(-1)
		return nil, fmt.Errorf("stoke: starting the %s backend: %w", st.master, err)
	}
	c.appID = c.be.ApplicationID()
	if obs.log != nil {
		if err := obs.log.open(c.conf.String("stoke.eventLog.dir"), c.appID); err != nil {
			c.be.Stop(context.Background())
			obs.close()
			active.Add(-1)
			return nil, fmt.Errorf("stoke: event log: %w", err)
		}
	}
	c.post(events.ApplicationStart{AppID: c.appID, AppName: st.appName, User: currentUser(), Master: st.master, Time: c.startTime})
	c.post(environmentEvent(c.conf))
	c.post(c.poolsEvent())
	c.mu.Lock()
	c.armTicker()
	c.mu.Unlock()
	if st.dynEnabled {
		if err := c.startDynamicAllocation(); err != nil {
			c.Stop()
			return nil, err
		}
	}
	return c, nil
}

// NewNodeID numbers lineage nodes.
func (c *Context) NewNodeID() int { return int(c.nextNode.Add(1)) }

// AppID is the cluster manager's id for this application.
func (c *Context) AppID() string { return c.appID }

// Conf is the application's configuration.
func (c *Context) Conf() *conf.Conf { return c.conf }

// Log is the driver's logger.
func (c *Context) Log() *logrus.Logger { return c.log }

// DefaultParallelism is stoke.default.parallelism or the backend's default.
func (c *Context) DefaultParallelism() int {
	if c.settings.defaultParallelism > 0 {
		return c.settings.defaultParallelism
	}
	return c.be.DefaultParallelism()
}

// UIURL is the address of the web UI ("" when disabled).
func (c *Context) UIURL() string { return c.obs.uiURL() }

func (c *Context) post(e events.Event) { c.obs.post(e) }

func currentUser() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "unknown"
}

func (c *Context) sortedStages() []*stage {
	out := make([]*stage, 0, len(c.stages))
	for _, s := range c.stages {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// JobOptions are per-job settings.
type JobOptions struct {
	Pool          string
	Description   string
	NoSpeculation bool
	// Partitions limits the job to these partitions (nil: all); the
	// results of the others are nil.
	Partitions []int
	// OutputCodec is the codec SaveAsTextFile compresses its part files
	// with (stoke.Compress); RunJob itself does not read it.
	OutputCodec string
}

// RunJob computes every partition of n into sink and returns the result of
// each partition, in partition order. Each partition's result is delivered
// exactly once however many attempts ran. Cancelling ctx cancels the job.
func (c *Context) RunJob(ctx context.Context, n *plan.Node, sink *pb.Sink, opts JobOptions) ([]*pb.TaskResult, error) {
	if opts.Pool == "" {
		opts.Pool = PoolFromContext(ctx)
	}
	if opts.Pool == "" {
		opts.Pool = c.settings.defaultPool
	}
	if opts.Pool == "" {
		opts.Pool = "default"
	}
	if err := validate(n, sink); err != nil {
		return nil, err
	}
	a := &actions{}
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		c.holdIfInterrupted()
		return nil, ErrStopped
	}
	if c.ended != nil {
		c.mu.Unlock()
		return nil, c.ended
	}
	j := &job{
		id:      c.nextJob,
		pool:    opts.Pool,
		desc:    opts.Description,
		noSpec:  opts.NoSpeculation,
		sink:    sink,
		results: make([]*pb.TaskResult, n.NumPartitions),
		done:    make([]bool, n.NumPartitions),
		doneCh:  make(chan struct{}),
	}
	if opts.Partitions != nil {
		// Only these partitions: the others count as done from the start.
		for p := range j.done {
			j.done[p] = true
		}
		j.numDone = len(j.done)
		for _, p := range opts.Partitions {
			if p < 0 || p >= len(j.done) {
				c.mu.Unlock()
				return nil, fmt.Errorf("stoke: job refused: partition %d of a dataset of %d", p, len(j.done))
			}
			if j.done[p] {
				j.done[p] = false
				j.numDone--
			}
		}
	}
	c.nextJob++
	c.partsTotal += len(j.done) - j.numDone
	c.jobs[j.id] = j
	j.final = c.newResultStage(j, n)
	var ids []int
	for _, s := range ancestors(j.final, map[int]bool{}, nil) {
		ids = append(ids, s.id)
	}
	sort.Ints(ids)
	c.post(events.JobStart{JobID: j.id, Description: j.desc, Pool: j.pool, StageIDs: ids, Time: c.clock.Now()})
	if j.numDone == len(j.done) {
		c.finishJob(j, nil, a)
	} else {
		c.submitStage(j.final, j, a)
		c.schedule(a)
	}
	c.mu.Unlock()
	c.apply(a)

	select {
	case <-j.doneCh:
	case <-ctx.Done():
		c.cancelJob(j, ctx.Err())
		<-j.doneCh
	}
	c.holdIfInterrupted()
	c.obs.settleConsole()
	if j.err != nil {
		return nil, j.err
	}
	return j.results, nil
}

func (c *Context) cancelJob(j *job, cause error) {
	a := &actions{}
	c.mu.Lock()
	if !j.finished {
		c.finishJob(j, fmt.Errorf("job %d cancelled: %w", j.id, cause), a)
	}
	c.mu.Unlock()
	c.apply(a)
}

// finishJob ends a job, cancelling the stages no other job needs.
func (c *Context) finishJob(j *job, err error, a *actions) {
	if j.finished {
		return
	}
	j.finished = true
	j.err = err
	for _, s := range ancestors(j.final, map[int]bool{}, nil) {
		delete(s.jobs, j.id)
		if len(s.jobs) > 0 {
			continue
		}
		s.waiting = false
		if s.running && (err != nil || s != j.final) {
			c.handle(c.core.Cancel(s.tsID, fmt.Sprintf("job %d ended", j.id), c.clock.Now()), a)
			c.stageEnded(s, "cancelled: job ended")
		}
	}
	if !j.final.running {
		delete(c.stages, j.final.id)
	}
	delete(c.jobs, j.id)
	ev := events.JobEnd{JobID: j.id, Succeeded: err == nil, Time: c.clock.Now()}
	if err != nil {
		ev.Error = err.Error()
	}
	c.post(ev)
	close(j.doneCh)
}

// stageEnded forgets a stage's task set.
func (c *Context) stageEnded(s *stage, failure string) {
	if !s.running {
		return
	}
	s.running = false
	delete(c.taskSets, s.tsID)
	c.commits.StageEnd(s.id)
	c.post(events.StageCompleted{StageID: s.id, Attempt: s.tsID.StageAttempt, Failure: failure, Time: c.clock.Now()})
}

// handle applies the core's decisions to the DAG.
func (c *Context) handle(out sched.Output, a *actions) {
	for _, w := range out.Warnings {
		c.log.Warn(w)
	}
	a.kills = append(a.kills, out.Kills...)
	for _, ex := range out.Excluded {
		c.log.WithFields(logrus.Fields{"executor": ex.ExecutorID, "scope": ex.Scope}).Warn("executor excluded: " + ex.Reason)
		c.post(events.ExecutorExcluded{ExecutorID: ex.ExecutorID, Scope: ex.Scope, Reason: ex.Reason, Time: c.clock.Now()})
	}
	for _, s := range out.Succeeded {
		c.taskSucceeded(s, a)
	}
	for _, ff := range out.FetchFailed {
		c.fetchFailed(ff, a)
	}
	for _, ab := range out.Aborted {
		s := c.taskSets[ab.TaskSet]
		if s == nil {
			continue
		}
		c.stageEnded(s, ab.Reason)
		err := fmt.Errorf("job aborted: %s", ab.Reason)
		for _, j := range sortedJobs(s.jobs) {
			c.finishJob(j, err, a)
		}
	}
	for _, id := range out.Finished {
		s := c.taskSets[id]
		if s == nil {
			continue
		}
		c.stageEnded(s, "")
		if s.shuffle == nil {
			if s.job.finished {
				delete(c.stages, s.id)
			}
			continue
		}
		if s.isAvailable() {
			c.stageAvailable(s, a)
		} else if j := s.anyJob(); j != nil {
			// Some outputs were lost while the stage ran: run those again.
			c.submitTasks(s, j, a)
		}
	}
}

func sortedJobs(m map[int]*job) []*job {
	out := make([]*job, 0, len(m))
	for _, j := range m {
		out = append(out, j)
	}
	sort.Slice(out, func(i, k int) bool { return out[i].id < out[k].id })
	return out
}

func (c *Context) taskSucceeded(su sched.Success, a *actions) {
	s := c.taskSets[su.TaskSet]
	if s == nil || c.cur == nil || c.cur.TaskId != su.TaskID {
		return
	}
	res := c.cur.Result
	if res == nil {
		res = &pb.TaskResult{}
	}
	if s.shuffle != nil {
		execID := c.curRun.launch.ExecutorID
		info := c.executors[execID]
		if s.shuffle.outputs[su.Partition] == nil {
			s.shuffle.available++
		}
		s.shuffle.outputs[su.Partition] = &mapOutput{taskID: su.TaskID, execID: execID, address: info.Address, sizes: res.BucketSizes}
		c.acceptAccumUpdates()
		return
	}
	j := s.job
	if j.finished || j.done[su.Partition] {
		return
	}
	j.resultSize += int64(len(res.Value))
	if max := c.settings.maxResultSize; max > 0 && j.resultSize > max {
		c.finishJob(j, resultTooLarge(j.numDone+1, j.resultSize, max), a)
		return
	}
	j.done[su.Partition] = true
	j.results[su.Partition] = res
	c.acceptAccumUpdates()
	j.numDone++
	c.partsDone++
	if j.numDone == len(j.done) {
		c.finishJob(j, nil, a)
	}
}

func resultTooLarge(tasks int, size, max int64) error {
	return fmt.Errorf("total size of serialized results of %d tasks (%s) is bigger than stoke.driver.maxResultSize (%s); raise it or write the output with SaveAsTextFile instead of collecting it",
		tasks, humanBytes(size), humanBytes(max))
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// fetchFailed: a task could not read a map output. Forget every output of
// that executor, stop the failing stage and rerun the parent for the
// missing partitions; the failing stage runs again after it.
func (c *Context) fetchFailed(ff sched.FetchFailure, a *actions) {
	s := c.taskSets[ff.TaskSet]
	if s == nil {
		return
	}
	var parent *stage
	if c.cur != nil && c.cur.FetchFailure != nil {
		info := c.cur.FetchFailure
		parent = c.shuffles[info.ShuffleId]
		if parent != nil {
			// An output that moved since (decommission) is read from its
			// new place when the stage runs again.
			if mp := int(info.MapPartition); mp < len(parent.shuffle.outputs) && parent.shuffle.outputs[mp] != nil && parent.shuffle.outputs[mp].execID == info.ExecutorId {
				parent.shuffle.outputs[mp] = nil
				parent.shuffle.available--
			}
			// One missing block means the executor's shuffle files are
			// not to be trusted: recompute all it held, in one round.
			c.removeOutputsOn(info.ExecutorId)
		}
	}
	s.fetchFailures++
	c.handle(c.core.Cancel(s.tsID, "fetch failure: stage resubmitted", c.clock.Now()), a)
	c.stageEnded(s, "fetch failure: "+ff.Reason)
	if s.fetchFailures > c.settings.maxStageAttempts {
		err := fmt.Errorf("job aborted: stage %d failed %d times fetching shuffle input; most recent: %s", s.id, s.fetchFailures, ff.Reason)
		for _, j := range sortedJobs(s.jobs) {
			c.finishJob(j, err, a)
		}
		return
	}
	c.log.WithField("stage", s.id).Warnf("fetch failure (%s); resubmitting the parent stage", ff.Reason)
	if j := s.anyJob(); j != nil {
		c.submitStage(s, j, a)
	}
}

// schedule fills free slots and records the launches.
func (c *Context) schedule(a *actions) {
	now := c.clock.Now()
	c.launchBuf = c.core.Schedule(now, c.launchBuf[:0])
	for i := range c.launchBuf {
		l := &c.launchBuf[i]
		s := c.taskSets[l.TaskSet]
		if s == nil {
			continue
		}
		td := c.taskDesc(l, s)
		c.tasks[l.TaskID] = &taskRun{stage: s, launch: *l}
		if a.launches == nil {
			a.launches = map[string][]*pb.TaskDesc{}
		}
		a.launches[l.ExecutorID] = append(a.launches[l.ExecutorID], td)
		c.post(events.TaskStart{
			StageID: s.id, StageAttempt: l.TaskSet.StageAttempt, TaskID: l.TaskID, Index: l.Index, Partition: l.Partition,
			Attempt: l.Attempt, ExecutorID: l.ExecutorID, Host: l.Host, Locality: localityName(l.Locality),
			Speculative: l.Speculative, Time: now,
		})
	}
	if c.core.HasPending() {
		a.revive = true
	}
}

func localityName(l sched.Locality) string {
	switch l {
	case sched.ProcessLocal:
		return "PROCESS_LOCAL"
	case sched.NodeLocal:
		return "NODE_LOCAL"
	case sched.NoPref:
		return "NO_PREF"
	}
	return "ANY"
}

// apply makes the backend calls decided under the lock.
func (c *Context) apply(a *actions) {
	for _, k := range a.kills {
		if err := c.be.KillTask(k.ExecutorID, k.TaskID, k.Reason); err != nil {
			c.log.WithError(err).Debugf("killing task %d", k.TaskID)
		}
	}
	for exec, tds := range a.launches {
		if err := c.be.LaunchTasks(exec, tds); err != nil {
			c.launchFailed(exec, tds, err)
		}
	}
	if a.revive {
		c.be.Revive()
	}
}

// launchFailed: the backend could not carry tasks to an executor (its
// connection is gone). The executor gets no more offers until it registers
// again or the backend declares it lost, so its free slots cannot turn one
// failure into a loop of launches; the tasks go back to their queues.
func (c *Context) launchFailed(exec string, tds []*pb.TaskDesc, err error) {
	a := &actions{}
	c.mu.Lock()
	now := c.clock.Now()
	if n, ok := c.launchWarns.allow(now); ok {
		msg := fmt.Sprintf("launching %d tasks on executor %s failed; no more tasks go to it until it registers again or is declared lost", len(tds), exec)
		if n > 0 {
			msg += fmt.Sprintf(" (%d similar warnings suppressed)", n)
		}
		c.log.WithError(err).Warn(msg)
	}
	reason := "launch failed: " + err.Error()
	if _, known := c.executors[exec]; known && !c.unusable[exec] && !c.stopped {
		c.unusable[exec] = true
		c.dropTasksOn(exec, reason, now)
		c.handle(c.core.RemoveExecutor(exec, reason, now), a)
	}
	// Launches not covered above (executor already unusable or unknown).
	for _, td := range tds {
		c.updateLocked(&pb.TaskStatus{TaskId: td.TaskId, State: pb.TaskState_TASK_STATE_UNSPECIFIED, Error: reason}, a)
	}
	if !c.stopped {
		c.schedule(a)
	}
	c.mu.Unlock()
	c.apply(a)
}

// dropTasksOn forgets the attempts running on an executor whose slots are
// removed from the core, which requeues them.
func (c *Context) dropTasksOn(id, reason string, now time.Time) {
	for tid, tr := range c.tasks {
		if tr.launch.ExecutorID == id {
			delete(c.tasks, tid)
			c.post(events.TaskEnd{StageID: tr.stage.id, StageAttempt: tr.launch.TaskSet.StageAttempt, TaskID: tid, Index: tr.launch.Index,
				ExecutorID: id, Status: events.TaskLost, Reason: reason, Time: now, Duration: now.Sub(tr.launch.LaunchTime)})
		}
	}
}

// warnLimiter lets one warning through per window and counts the rest.
type warnLimiter struct {
	last       time.Time
	suppressed int
}

const warnWindow = 10 * time.Second

func (w *warnLimiter) allow(now time.Time) (suppressed int, ok bool) {
	if !w.last.IsZero() && now.Sub(w.last) < warnWindow {
		w.suppressed++
		return 0, false
	}
	n := w.suppressed
	w.last, w.suppressed = now, 0
	return n, true
}

// StatusUpdate implements backend.Driver: the statuses are applied under
// one lock and free slots are filled once for the whole batch.
func (c *Context) StatusUpdate(execID string, sts ...*pb.TaskStatus) {
	batch := make([]*pb.TaskStatus, 0, len(sts))
	var blocks []*pb.BlockUpdate
	for _, st := range sts {
		blocks = append(blocks, st.BlockUpdates...)
		if st.State == pb.TaskState_RUNNING {
			continue
		}
		if st.State == pb.TaskState_SUCCEEDED && st.Result != nil && st.Result.StoredBlock != "" {
			st = c.fetchStoredResult(execID, st)
		}
		batch = append(batch, st)
	}
	if len(batch) == 0 && len(blocks) == 0 {
		return
	}
	a := &actions{}
	var stale []int32
	c.mu.Lock()
	if len(blocks) > 0 {
		// Before the statuses: a task that finishes here may start a
		// next one whose locality these updates decide.
		stale = c.blocksUpdated(execID, blocks)
	}
	for _, st := range batch {
		c.updateLocked(st, a)
	}
	c.schedule(a)
	stopped := c.stopped
	c.mu.Unlock()
	c.apply(a)
	if r, ok := c.be.(backend.CacheReleaser); ok && len(stale) > 0 && !stopped {
		r.ReleaseCached(stale)
	}
}

// fetchStoredResult reads a large result from its executor, after checking
// that it fits under stoke.driver.maxResultSize.
func (c *Context) fetchStoredResult(execID string, st *pb.TaskStatus) *pb.TaskStatus {
	c.mu.Lock()
	tr := c.tasks[st.TaskId]
	var j *job
	if tr != nil && tr.stage.shuffle == nil {
		j = tr.stage.job
	}
	if j != nil && !j.finished {
		if max := c.settings.maxResultSize; max > 0 && j.resultSize+st.Result.Size > max {
			a := &actions{}
			c.finishJob(j, resultTooLarge(j.numDone+1, j.resultSize+st.Result.Size, max), a)
			c.mu.Unlock()
			c.apply(a)
			return &pb.TaskStatus{TaskId: st.TaskId, State: pb.TaskState_KILLED, Error: "result dropped: job aborted"}
		}
	}
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), c.settings.networkTimeout)
	defer cancel()
	data, err := c.be.FetchResult(ctx, execID, st.Result.StoredBlock)
	if err != nil {
		return &pb.TaskStatus{TaskId: st.TaskId, State: pb.TaskState_TASK_STATE_UNSPECIFIED, Error: "result lost: " + err.Error()}
	}
	out := proto.Clone(st).(*pb.TaskStatus)
	out.Result.Value, out.Result.StoredBlock = data, ""
	return out
}

func (c *Context) updateLocked(st *pb.TaskStatus, a *actions) {
	tr := c.tasks[st.TaskId]
	if tr == nil {
		return
	}
	delete(c.tasks, st.TaskId)
	now := c.clock.Now()
	u := sched.TaskUpdate{TaskID: st.TaskId, Reason: st.Error}
	status := events.TaskSuccess
	switch st.State {
	case pb.TaskState_SUCCEEDED:
		u.State = sched.TaskSucceeded
	case pb.TaskState_FAILED:
		u.State, status = sched.TaskFailed, events.TaskFailed
	case pb.TaskState_KILLED:
		u.State, status = sched.TaskKilled, events.TaskKilled
	case pb.TaskState_FETCH_FAILED:
		u.State, status = sched.TaskFetchFailed, events.TaskFetchFailed
	default:
		u.State, status = sched.TaskLost, events.TaskLost
	}
	if st.State == pb.TaskState_SUCCEEDED || st.State == pb.TaskState_FAILED {
		c.commits.TaskEnded(tr.stage.id, tr.launch.TaskSet.StageAttempt, tr.launch.Partition, st.TaskId, st.State == pb.TaskState_SUCCEEDED)
	}
	ev := events.TaskEnd{
		StageID: tr.stage.id, StageAttempt: tr.launch.TaskSet.StageAttempt, TaskID: st.TaskId, Index: tr.launch.Index,
		ExecutorID: tr.launch.ExecutorID, Status: status, Reason: st.Error, Time: now,
		Duration: now.Sub(tr.launch.LaunchTime),
	}
	if m := st.Metrics; m != nil {
		ev.RecordsIn, ev.RecordsOut, ev.ShuffleWrite, ev.ShuffleRead = m.RecordsIn, m.RecordsOut, m.ShuffleWriteBytes, m.ShuffleReadBytes
		ev.Spilled, ev.PeakMemory = m.SpilledBytes, m.PeakExecutionMemory
		ev.RunTime = time.Duration(m.DurationNs)
	}
	if st.Result != nil {
		ev.ResultBytes = st.Result.Size
	}
	c.post(ev)
	c.cur, c.curRun = st, tr
	c.handle(c.core.Update(u, now), a)
	c.cur, c.curRun = nil, nil
}

// CanCommit implements backend.Driver.
func (c *Context) CanCommit(req *pb.CommitRequest) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.commits.CanCommit(int(req.StageId), int(req.StageAttempt), int(req.Partition), req.TaskId)
}

// ExecutorAdded implements backend.Driver.
func (c *Context) ExecutorAdded(info backend.ExecutorInfo) {
	a := &actions{}
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return
	}
	c.executors[info.ID] = info
	delete(c.unusable, info.ID)
	now := c.clock.Now()
	c.core.AddExecutor(info.ID, info.Host, info.Cores, now)
	c.post(events.ExecutorAdded{ExecutorID: info.ID, Host: info.Host, Cores: info.Cores, LogURL: info.LogURL, Reason: c.dynAddReason(), Time: now})
	c.log.WithFields(logrus.Fields{"executor": info.ID, "host": info.Host, "cores": info.Cores}).Debug("executor added")
	c.schedule(a)
	c.mu.Unlock()
	c.apply(a)
}

// ExecutorLost implements backend.Driver.
func (c *Context) ExecutorLost(id, reason string) {
	a := &actions{}
	c.mu.Lock()
	info, ok := c.executors[id]
	if !ok {
		c.mu.Unlock()
		return
	}
	delete(c.executors, id)
	delete(c.unusable, id)
	now := c.clock.Now()
	reason, released := c.releasedReason(id, reason)
	if !c.stopped && !released {
		c.log.WithField("executor", id).Warnf("executor lost: %s", reason)
	}
	if d := c.decoms[id]; d != nil {
		d.timer.Stop()
		delete(c.decoms, id)
	}
	migrated := c.migrated[id]
	delete(c.migrated, id)
	c.dropTasksOn(id, "executor lost: "+reason, now)
	c.post(events.ExecutorRemoved{ExecutorID: id, Reason: reason, MigratedShuffleOutputs: migrated, Time: now})
	if c.shuffleServed(info) {
		if n := c.serveOutputsOf(info); n > 0 {
			c.log.WithField("executor", id).Infof("%d shuffle map output(s) of the executor are served by the shuffle service at %s", n, info.ShuffleServiceAddress)
		}
	} else {
		c.removeOutputsOn(id)
	}
	c.forgetCachedOn(id)
	c.handle(c.core.RemoveExecutor(id, reason, now), a)
	c.stageAvailable(nil, a)
	c.schedule(a)
	c.mu.Unlock()
	c.apply(a)
}

// armTicker schedules the next tick; c.mu must be held.
func (c *Context) armTicker() {
	c.ticker = c.clock.AfterFunc(c.settings.tickInterval, c.tick)
}

func (c *Context) tick() {
	a := &actions{}
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return
	}
	c.handle(c.core.Tick(c.clock.Now()), a)
	c.schedule(a)
	c.armTicker()
	c.mu.Unlock()
	c.apply(a)
}

// Executors lists the registered executors.
func (c *Context) Executors() []backend.ExecutorInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]backend.ExecutorInfo, 0, len(c.executors))
	for _, e := range c.executors {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Stop fails running jobs, releases the executors and closes the UI and
// event log. It is safe to call twice; a second call returns once the
// first is done (and never, when a signal is stopping the application:
// the process exits).
func (c *Context) Stop() error {
	err := c.StopBecause("")
	c.holdIfInterrupted()
	return err
}

// StopBecause is Stop for an application ended early: reason ("interrupted
// by SIGINT") is added to the running jobs' errors and written in the
// application's end event.
func (c *Context) StopBecause(reason string) error {
	jobErr := ErrStopped
	if reason != "" {
		jobErr = fmt.Errorf("%w: %s", ErrStopped, reason)
	}
	a := &actions{}
	c.mu.Lock()
	if c.stopped {
		done := c.stopDone
		c.mu.Unlock()
		<-done
		return nil
	}
	c.stopped = true
	c.stopDone = make(chan struct{})
	defer close(c.stopDone)
	for _, j := range sortedJobs(c.jobs) {
		c.finishJob(j, jobErr, a)
	}
	if c.ticker != nil {
		c.ticker.Stop()
	}
	if c.dyn != nil && c.dyn.timer != nil {
		c.dyn.timer.Stop()
	}
	c.mu.Unlock()
	c.apply(&actions{kills: a.kills})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := c.be.Stop(ctx)
	c.post(events.ApplicationEnd{Time: c.clock.Now(), Reason: reason})
	c.obs.close()
	active.Add(-1)
	return err
}

// ApplicationEnded fails the running jobs with err and refuses new ones:
// the cluster manager has ended the application (backend.ApplicationEnder).
func (c *Context) ApplicationEnded(err error) {
	a := &actions{}
	c.mu.Lock()
	if c.ended == nil {
		c.ended = fmt.Errorf("stoke: %w", err)
	}
	for _, j := range sortedJobs(c.jobs) {
		c.finishJob(j, c.ended, a)
	}
	c.mu.Unlock()
	c.apply(&actions{kills: a.kills})
}

type poolKey struct{}

// WithPool returns a context whose jobs run in the named FAIR pool: Go's
// counterpart of a per-thread scheduler pool property.
func WithPool(ctx context.Context, pool string) context.Context {
	return context.WithValue(ctx, poolKey{}, pool)
}

// PoolFromContext returns the pool named by WithPool, or "".
func PoolFromContext(ctx context.Context) string {
	p, _ := ctx.Value(poolKey{}).(string)
	return p
}

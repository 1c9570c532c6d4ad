package sched

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// TestScenarios runs the golden decision traces in testdata/*.txt.
func TestScenarios(t *testing.T) {
	runDD(t, "testdata/*.txt", func() func(*ddBlock) string {
		h := &harness{}
		return h.run
	})
}

// harness drives a Scheduler from scenario commands and prints decisions.
type harness struct {
	s        *Scheduler
	now      time.Time
	launches map[int64]Launch
}

func (h *harness) run(b *ddBlock) (out string) {
	defer func() {
		if r := recover(); r != nil {
			out = fmt.Sprintf("panic: %v", r)
		}
	}()
	if v, ok := b.arg("t"); ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			return b.errorf("bad t: %v", err)
		}
		h.now = epoch.Add(d)
	}
	if h.s == nil && b.cmd != "config" {
		return b.errorf("config first")
	}
	var sb strings.Builder
	switch b.cmd {
	case "config":
		return h.config(b)
	case "executor":
		if len(b.args) < 2 {
			return b.errorf("executor add|remove ID ...")
		}
		id := b.args[1].key
		switch b.args[0].key {
		case "add":
			host, _ := b.arg("host")
			h.s.AddExecutor(id, host, atoi(b, "cores", 1), h.now)
			return ""
		case "remove":
			reason, _ := b.arg("reason")
			return h.output(h.s.RemoveExecutor(id, reason, h.now))
		}
		return b.errorf("executor add|remove ID ...")
	case "remove":
		reason, _ := b.arg("reason")
		return h.output(h.s.RemoveExecutor(b.args[0].key, reason, h.now))
	case "submit":
		return h.output(h.s.Submit(h.taskSet(b), h.now))
	case "cancel":
		reason, _ := b.arg("reason")
		return h.output(h.s.Cancel(TaskSetID{atoi(b, "stage", 0), atoi(b, "attempt", 0)}, reason, h.now))
	case "schedule":
		ls := h.s.Schedule(h.now, nil)
		for _, l := range ls {
			h.launches[l.TaskID] = l
		}
		if _, brief := b.arg("brief"); brief {
			fmt.Fprintf(&sb, "launched %d\n", len(ls))
			sb.WriteString(h.summary(ls))
			return sb.String()
		}
		for _, l := range ls {
			sb.WriteString(fmtLaunch(l) + "\n")
		}
		if len(ls) == 0 {
			sb.WriteString("no launches\n")
		}
		return sb.String()
	case "update":
		state, ok := parseState(b)
		if !ok {
			return b.errorf("bad state")
		}
		reason, _ := b.arg("reason")
		for _, id := range taskIDs(b) {
			sb.WriteString(h.output(h.s.Update(TaskUpdate{TaskID: id, State: state, Reason: reason}, h.now)))
		}
		return sb.String()
	case "tick":
		return h.output(h.s.Tick(h.now))
	case "pools":
		for _, p := range h.s.Pools() {
			fmt.Fprintf(&sb, "pool %s mode=%v weight=%d minShare=%d running=%d tasksets=%d\n", p.Name, p.Mode, p.Weight, p.MinShare, p.RunningTasks, p.TaskSets)
		}
		return sb.String()
	case "pending":
		return fmt.Sprintf("pending=%v", h.s.HasPending())
	case "running":
		return h.running()
	}
	return b.errorf("unknown command %q", b.cmd)
}

func (h *harness) config(b *ddBlock) string {
	var cfg Config
	var sb strings.Builder
	for _, a := range b.args {
		var err error
		switch a.key {
		case "mode":
			cfg.Mode, err = ParseMode(a.val)
		case "cpus":
			cfg.CPUsPerTask, err = strconv.Atoi(a.val)
		case "maxfailures":
			cfg.MaxFailures, err = strconv.Atoi(a.val)
		case "wait":
			cfg.LocalityWait, err = time.ParseDuration(a.val)
		case "spec":
			cfg.Speculation.Enabled = true
		case "spec.interval":
			cfg.Speculation.Interval, err = time.ParseDuration(a.val)
		case "spec.quantile":
			cfg.Speculation.Quantile, err = strconv.ParseFloat(a.val, 64)
		case "spec.multiplier":
			cfg.Speculation.Multiplier, err = strconv.ParseFloat(a.val, 64)
		case "spec.min":
			cfg.Speculation.MinTaskRuntime, err = time.ParseDuration(a.val)
		case "exclude":
			cfg.Exclude.Enabled = true
		case "exclude.timeout":
			cfg.Exclude.Timeout, err = time.ParseDuration(a.val)
		default:
			return b.errorf("unknown config key %q", a.key)
		}
		if err != nil {
			return b.errorf("%v", err)
		}
	}
	if b.input != "" {
		pools, warnings, err := ParseAllocationFile("pools.xml", []byte(b.input))
		if err != nil {
			return b.errorf("%v", err)
		}
		for _, w := range warnings {
			sb.WriteString("warning: " + w + "\n")
		}
		cfg.Pools = pools
	}
	s, warnings, err := New(cfg)
	if err != nil {
		return b.errorf("%v", err)
	}
	for _, w := range warnings {
		sb.WriteString("warning: " + w + "\n")
	}
	h.s, h.now, h.launches = s, epoch, map[int64]Launch{}
	return sb.String()
}

// taskSet builds a TaskSet from submit's arguments: job, stage, attempt,
// tasks, pool, nospec, loc (every task) and locN (task N), where a location
// list is host[/executor] items separated by '|'.
func (h *harness) taskSet(b *ddBlock) TaskSet {
	ts := TaskSet{ID: TaskSetID{atoi(b, "stage", 0), atoi(b, "attempt", 0)}, JobID: atoi(b, "job", 0)}
	ts.Pool, _ = b.arg("pool")
	_, ts.NoSpeculation = b.arg("nospec")
	n := atoi(b, "tasks", 1)
	all, _ := b.arg("loc")
	for i := range n {
		task := Task{Partition: i}
		spec := all
		if v, ok := b.arg("loc" + strconv.Itoa(i)); ok {
			spec = v
		}
		if spec != "" && spec != "none" {
			for item := range strings.SplitSeq(spec, "|") {
				host, exec, _ := strings.Cut(item, "/")
				task.Preferred = append(task.Preferred, Location{Host: host, ExecutorID: exec})
			}
		}
		ts.Tasks = append(ts.Tasks, task)
	}
	return ts
}

func atoi(b *ddBlock, key string, def int) int {
	v, ok := b.arg(key)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		panic(fmt.Sprintf("%s=%q: %v", key, v, err))
	}
	return n
}

// taskIDs parses task=3 or task=0-5 or task=1,4,7.
func taskIDs(b *ddBlock) []int64 {
	v, _ := b.arg("task")
	var ids []int64
	for part := range strings.SplitSeq(v, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseInt(lo, 10, 64)
		if err != nil {
			panic(fmt.Sprintf("task=%q", v))
		}
		z := a
		if isRange {
			if z, err = strconv.ParseInt(hi, 10, 64); err != nil {
				panic(fmt.Sprintf("task=%q", v))
			}
		}
		for id := a; id <= z; id++ {
			ids = append(ids, id)
		}
	}
	return ids
}

func parseState(b *ddBlock) (TaskState, bool) {
	v, _ := b.arg("state")
	switch v {
	case "running":
		return TaskRunning, true
	case "succeeded":
		return TaskSucceeded, true
	case "failed":
		return TaskFailed, true
	case "killed":
		return TaskKilled, true
	case "fetchfailed":
		return TaskFetchFailed, true
	case "lost":
		return TaskLost, true
	}
	return 0, false
}

func fmtTS(id TaskSetID) string { return fmt.Sprintf("%d.%d", id.StageID, id.StageAttempt) }

func fmtLaunch(l Launch) string {
	s := fmt.Sprintf("launch tid=%d ts=%s job=%d pool=%s idx=%d att=%d on=%s/%s %v", l.TaskID, fmtTS(l.TaskSet), l.JobID, l.Pool, l.Index, l.Attempt, l.Host, l.ExecutorID, l.Locality)
	if l.Speculative {
		s += " speculative"
	}
	return s
}

// summary counts launches per task set and executor.
func (h *harness) summary(ls []Launch) string {
	type key struct {
		ts   TaskSetID
		exec string
	}
	counts := map[key]int{}
	var sets []TaskSetID
	var execs []string
	for _, l := range ls {
		k := key{l.TaskSet, l.ExecutorID}
		if counts[k] == 0 {
			if !slices.Contains(sets, l.TaskSet) {
				sets = append(sets, l.TaskSet)
			}
			if !slices.Contains(execs, l.ExecutorID) {
				execs = append(execs, l.ExecutorID)
			}
		}
		counts[k]++
	}
	slices.SortFunc(sets, func(a, b TaskSetID) int {
		if a.StageID != b.StageID {
			return a.StageID - b.StageID
		}
		return a.StageAttempt - b.StageAttempt
	})
	slices.Sort(execs)
	var sb strings.Builder
	for _, ts := range sets {
		fmt.Fprintf(&sb, "  ts=%s:", fmtTS(ts))
		total := 0
		for _, e := range execs {
			if n := counts[key{ts, e}]; n > 0 {
				fmt.Fprintf(&sb, " %s=%d", e, n)
				total += n
			}
		}
		fmt.Fprintf(&sb, " total=%d\n", total)
	}
	return sb.String()
}

// running prints, per executor, the running attempts.
func (h *harness) running() string {
	var sb strings.Builder
	for _, e := range h.s.execs {
		fmt.Fprintf(&sb, "%s/%s free=%d:", e.host, e.id, e.free)
		for _, a := range h.s.live {
			if a != nil && a.exec == e {
				fmt.Fprintf(&sb, " %d(%s#%d)", a.id, fmtTS(a.ts.id), a.index)
			}
		}
		sb.WriteString("\n")
	}
	return sb.String()
}

func (h *harness) output(o Output) string {
	var sb strings.Builder
	for _, w := range o.Warnings {
		fmt.Fprintf(&sb, "warning: %s\n", w)
	}
	for _, s := range o.Succeeded {
		fmt.Fprintf(&sb, "succeeded tid=%d ts=%s idx=%d dur=%v\n", s.TaskID, fmtTS(s.TaskSet), s.Index, s.Duration)
	}
	for _, k := range o.Kills {
		fmt.Fprintf(&sb, "kill tid=%d on=%s: %s\n", k.TaskID, k.ExecutorID, k.Reason)
	}
	for _, r := range o.Requeued {
		fmt.Fprintf(&sb, "requeued tid=%d ts=%s idx=%d counted=%v: %s\n", r.TaskID, fmtTS(r.TaskSet), r.Index, r.Counted, r.Reason)
	}
	for _, f := range o.FetchFailed {
		fmt.Fprintf(&sb, "fetch-failed tid=%d ts=%s idx=%d: %s\n", f.TaskID, fmtTS(f.TaskSet), f.Index, f.Reason)
	}
	for _, x := range o.Excluded {
		fmt.Fprintf(&sb, "excluded exec=%s host=%s scope=%s ts=%s: %s\n", x.ExecutorID, x.Host, x.Scope, fmtTS(x.TaskSet), x.Reason)
	}
	for _, sp := range o.Speculatable {
		fmt.Fprintf(&sb, "speculatable tid=%d ts=%s idx=%d runtime=%v\n", sp.TaskID, fmtTS(sp.TaskSet), sp.Index, sp.Runtime)
	}
	for _, a := range o.Aborted {
		fmt.Fprintf(&sb, "aborted ts=%s: %s\n", fmtTS(a.TaskSet), a.Reason)
	}
	for _, f := range o.Finished {
		fmt.Fprintf(&sb, "finished ts=%s\n", fmtTS(f))
	}
	return sb.String()
}

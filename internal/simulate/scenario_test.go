package simulate

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"
)

func specWorkload(t tb, spec string, seed *uint64) *Workload {
	t.Helper()
	s, err := ParseSpec([]byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	w, err := s.Build("t", seed)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func run(t tb, w *Workload, opt Options, kv ...string) *Result {
	t.Helper()
	r, err := Run(w, mustConfig(t, w, strings.Join(kv, " "), kv...), opt)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func jsonOf(t tb, r *Result) string {
	var b bytes.Buffer
	if err := NewReport(&Workload{}, 0, []*Result{r}).WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

const busySpec = `{"executors":[{"count":3,"cores":4},{"id":"slow","cores":4,"slowdown":4},{"id":"doomed","cores":4,"lostAt":"3s"}],
	"taskFailureRate":0.05,
	"pools":[{"name":"etl","schedulingMode":"FAIR","weight":2,"minShare":4},{"name":"adhoc"}],
	"jobs":[{"pool":"etl","count":6,"every":"1500ms","stages":[{"tasks":40,"duration":{"dist":"lognormal","median":"400ms","sigma":0.7}},{"tasks":8,"duration":{"dist":"uniform","min":"100ms","max":"900ms"}}]},
	        {"pool":"adhoc","arrival":"500ms","count":5,"every":"2s","stages":[{"tasks":25,"duration":{"dist":"fixed","value":"300ms"}}]}]}`

// One seed, one answer: the same workload, configuration and seed give the
// same report byte for byte; another seed gives another.
func TestDeterministic(t *testing.T) {
	for _, mode := range []string{"FIFO", "FAIR"} {
		a := jsonOf(t, run(t, specWorkload(t, busySpec, nil), Options{Seed: 3, Trace: true}, "stoke.scheduler.mode", mode, "stoke.speculation", "true"))
		b := jsonOf(t, run(t, specWorkload(t, busySpec, nil), Options{Seed: 3, Trace: true}, "stoke.scheduler.mode", mode, "stoke.speculation", "true"))
		if a != b {
			t.Fatalf("%s: two runs with seed 3 differ", mode)
		}
		seed := uint64(4)
		c := jsonOf(t, run(t, specWorkload(t, busySpec, &seed), Options{Seed: 4, Trace: true}, "stoke.scheduler.mode", mode, "stoke.speculation", "true"))
		if a == c {
			t.Fatalf("%s: seeds 3 and 4 gave the same run", mode)
		}
	}
}

// A straggler executor: speculation launches copies elsewhere, some win,
// and the jobs end sooner than without it.
func TestStragglerSpeculationHelps(t *testing.T) {
	w := specWorkload(t, `{"executors":[{"count":3,"cores":4},{"id":"slow","cores":4,"slowdown":6}],
		"jobs":[{"count":4,"every":"5s","stages":[{"tasks":32,"duration":{"dist":"fixed","value":"1s"}}]}]}`, nil)
	off := run(t, w, Options{})
	on := run(t, w, Options{}, "stoke.speculation", "true")
	if on.Tasks.Speculative == 0 || on.Tasks.SpeculativeWon == 0 || off.Tasks.Speculative != 0 {
		t.Fatalf("speculative copies: off %d, on %d (%d won)", off.Tasks.Speculative, on.Tasks.Speculative, on.Tasks.SpeculativeWon)
	}
	for i := range on.Jobs {
		if on.Jobs[i].Duration >= off.Jobs[i].Duration {
			t.Errorf("job %d: %v with speculation, %v without", i, on.Jobs[i].Duration, off.Jobs[i].Duration)
		}
	}
	// Without speculation the slow executor's 4 tasks take 6s: each job takes
	// 6s (the others finish in 3 waves of 12).
	if got := off.Jobs[0].Duration.String(); got != "6s" {
		t.Errorf("job 0 without speculation: %s, want 6s", got)
	}
}

// An executor lost mid-run: its tasks are requeued (not counted as
// failures) and every job still succeeds.
func TestExecutorLost(t *testing.T) {
	w := specWorkload(t, `{"executors":[{"count":1,"cores":4},{"id":"gone","cores":4,"lostAt":"1500ms"}],
		"jobs":[{"stages":[{"tasks":16,"duration":{"dist":"fixed","value":"1s"}}]}]}`, nil)
	r := run(t, w, Options{}, "stoke.task.maxFailures", "1")
	if r.Tasks.Lost != 4 || r.Unfinished != 0 || !r.Jobs[0].Succeeded {
		t.Fatalf("lost %d, jobs %+v", r.Tasks.Lost, r.Jobs)
	}
	// 8 slots: 8 tasks in 0-1s, 8 more from 1s; at 1.5s the 4 on the lost
	// executor are requeued, and run on the survivor's slots when they
	// free at 2s: the job ends at 3s (it would end at 2s without the loss).
	if got := r.Jobs[0].Duration.String(); got != "3s" {
		t.Errorf("job took %s, want 3s", got)
	}
}

// Failures at a rate: retried up to stoke.task.maxFailures; with one
// attempt allowed, a failure fails its job.
func TestFailureInjection(t *testing.T) {
	w := specWorkload(t, `{"executors":[{"count":2,"cores":8}],"taskFailureRate":0.1,
		"jobs":[{"count":10,"every":"1s","stages":[{"tasks":50,"duration":{"dist":"fixed","value":"200ms"}}]}]}`, nil)
	retry := run(t, w, Options{Seed: 9}, "stoke.task.maxFailures", "8")
	if retry.Tasks.Failed == 0 || retry.Unfinished != 0 {
		t.Fatalf("failed %d unfinished %d", retry.Tasks.Failed, retry.Unfinished)
	}
	for _, j := range retry.Jobs {
		if !j.Succeeded {
			t.Errorf("job %d failed with 8 attempts allowed: %s", j.ID, j.Error)
		}
	}
	once := run(t, w, Options{Seed: 9}, "stoke.task.maxFailures", "1")
	failed := 0
	for _, j := range once.Jobs {
		if !j.Succeeded {
			failed++
			if !strings.Contains(j.Error, "injected failure") {
				t.Errorf("job %d error %q", j.ID, j.Error)
			}
		}
	}
	if failed == 0 {
		t.Errorf("no job failed with one attempt and 10%% failures")
	}
}

// FAIR with weights: while both pools are busy, a pool of weight 3 gets
// three quarters of the slots.
func TestWeightsShareSlots(t *testing.T) {
	w := specWorkload(t, `{"pools":[{"name":"a","weight":3},{"name":"b","weight":1}],"executors":[{"count":2,"cores":8}],
		"jobs":[{"pool":"a","stages":[{"tasks":600,"duration":{"dist":"fixed","value":"100ms"}}]},
		        {"pool":"b","stages":[{"tasks":600,"duration":{"dist":"fixed","value":"100ms"}}]}]}`, nil)
	r := run(t, w, Options{Trace: true}, "stoke.scheduler.mode", "FAIR")
	n := map[int]int{}
	for _, l := range r.Launches {
		if l.Time == 0 {
			n[l.Job]++
		}
	}
	if n[0] != 12 || n[1] != 4 {
		t.Errorf("first wave %v, want 12 for weight 3 and 4 for weight 1", n)
	}
	if a := r.Pools[0]; a.Name != "a" || a.FairShare < 0.74 || a.FairShare > 0.76 || a.AvgShare < 0.7 {
		t.Errorf("pool a %+v: want a fair share of 75%% while both run", a)
	}
}

// Random workloads: the replay is deterministic, every task of every job
// succeeds, no job ends before its critical path, and the accounting adds
// up.
func TestRandomWorkloadProperties(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		nExec := rapid.IntRange(1, 4).Draw(rt, "executors")
		var execs []string
		for i := range nExec {
			execs = append(execs, fmt.Sprintf(`{"cores":%d,"slowdown":%d}`, rapid.IntRange(1, 6).Draw(rt, fmt.Sprint("cores", i)), rapid.IntRange(1, 3).Draw(rt, fmt.Sprint("slow", i))))
		}
		var jobs []string
		for i := range rapid.IntRange(1, 5).Draw(rt, "jobs") {
			var stages []string
			for k := range rapid.IntRange(1, 3).Draw(rt, fmt.Sprint("stages", i)) {
				stages = append(stages, fmt.Sprintf(`{"tasks":%d,"duration":{"dist":"uniform","min":"10ms","max":"%dms"}}`,
					rapid.IntRange(1, 30).Draw(rt, fmt.Sprint("tasks", i, k)), rapid.IntRange(10, 500).Draw(rt, fmt.Sprint("max", i, k))))
			}
			jobs = append(jobs, fmt.Sprintf(`{"pool":"p%d","arrival":"%dms","stages":[%s]}`, i%2, rapid.IntRange(0, 1000).Draw(rt, fmt.Sprint("arrival", i)), strings.Join(stages, ",")))
		}
		spec := fmt.Sprintf(`{"executors":[%s],"jobs":[%s]}`, strings.Join(execs, ","), strings.Join(jobs, ","))
		w := specWorkload(rt, spec, nil)
		kv := []string{"stoke.scheduler.mode", rapid.SampledFrom([]string{"FIFO", "FAIR"}).Draw(rt, "mode"),
			"stoke.speculation", rapid.SampledFrom([]string{"true", "false"}).Draw(rt, "spec")}
		a := run(rt, w, Options{Seed: 1}, kv...)
		if b := run(rt, w, Options{Seed: 1}, kv...); jsonOf(rt, a) != jsonOf(rt, b) {
			rt.Fatalf("two runs differ")
		}
		if a.Unfinished != 0 || a.Tasks.Succeeded != w.Tasks() {
			rt.Fatalf("unfinished %d, succeeded %d of %d", a.Unfinished, a.Tasks.Succeeded, w.Tasks())
		}
		if a.Tasks.Launched != a.Tasks.Succeeded+a.Tasks.Killed+a.Tasks.Failed+a.Tasks.Lost {
			rt.Fatalf("counts do not add up: %+v", a.Tasks)
		}
		if a.Utilization <= 0 || a.Utilization > 1+1e-9 {
			rt.Fatalf("utilization %v", a.Utilization)
		}
		for i, j := range a.Jobs {
			var path time.Duration
			for _, st := range w.Jobs[i].Stages {
				path += maxDur(st.Durations)
			}
			if time.Duration(j.Duration) < path {
				rt.Fatalf("job %d took %v, less than its critical path %v", j.ID, j.Duration, path)
			}
		}
		for b := range a.Share.Total {
			sum := 0.0
			for p := range a.Share.Pools {
				sum += a.Share.Slots[p][b]
			}
			if sum > a.Share.Total[b]+1e-6 {
				rt.Fatalf("bucket %d: %v tasks running on %v slots", b, sum, a.Share.Total[b])
			}
		}
	})
}

func maxDur(d []time.Duration) time.Duration {
	m := time.Duration(0)
	for _, x := range d {
		m = max(m, x)
	}
	return m
}

// Tasks that prefer an executor: with a locality wait they wait for it
// (all launched process-local), without one they take any free slot.
func TestLocalityWait(t *testing.T) {
	w := specWorkload(t, `{"executors":[{"count":4,"cores":2}],
		"jobs":[{"stages":[{"tasks":40,"preferLocal":1,"duration":{"dist":"fixed","value":"100ms"}}]}]}`, nil)
	levels := func(r *Result) map[string]int {
		n := map[string]int{}
		for _, l := range r.Launches {
			n[l.Locality]++
		}
		return n
	}
	wait := run(t, w, Options{Trace: true}, "stoke.locality.wait", "10s")
	none := run(t, w, Options{Trace: true}, "stoke.locality.wait", "0")
	if n := levels(wait); n["PROCESS_LOCAL"] != 40 {
		t.Errorf("with a 10s wait: %v, want every launch process-local", n)
	}
	if n := levels(none); n["ANY"] == 0 {
		t.Errorf("without a wait: %v, want some launches anywhere", n)
	}
	if none.Jobs[0].Duration > wait.Jobs[0].Duration {
		t.Errorf("without a wait the job took %v, with one %v", none.Jobs[0].Duration, wait.Jobs[0].Duration)
	}
}

package placement

import (
	"fmt"
	"sort"
)

// WorkerFree is what the allocator knows about one alive worker.
type WorkerFree struct {
	ID         string
	Cores      int // total cores offered
	MemoryMiB  int // total memory offered
	FreeCores  int
	FreeMemMiB int
}

// AppDemand is a waiting or running application, as the allocator sees it.
type AppDemand struct {
	ID string
	// CoresPerExecutor is stoke.executor.cores; 0 means unset: one
	// executor per worker taking every free core there.
	CoresPerExecutor int
	MemPerExecutor   int // MiB, stoke.executor.memory
	// MaxCores is stoke.cores.max; 0 means no cap.
	MaxCores int
	// ExecutorLimit is the total the application asked for through
	// RequestTotalExecutors; negative means no limit.
	ExecutorLimit int
	// Granted cores and executors it holds now.
	GrantedCores int
	Executors    int
	// OnWorker counts the application's executors per worker id.
	OnWorker map[string]int
}

// Launch is one executor the master should start.
type Launch struct {
	AppID     string
	WorkerID  string
	Cores     int
	MemoryMiB int
}

// Waiting says why an application got less than it wants.
type Waiting struct {
	AppID  string
	Reason string
	// NeverFits is true when no alive worker could ever hold one executor
	// of the application (it waits for a bigger worker).
	NeverFits bool
}

// Plan is the result of one allocation round.
type Plan struct {
	Launches []Launch
	Waiting  []Waiting
}

// Allocate decides which executors to start, serving applications in the
// order given (registration order: an earlier application takes what it
// can before a later one is considered). spreadOut spreads an
// application's executors across as many workers as possible (one step per
// worker per pass); otherwise it fills one worker before using the next.
// It reads no clock and does no I/O; the inputs are not modified.
func Allocate(workers []WorkerFree, apps []AppDemand, spreadOut bool) Plan {
	ws := make([]WorkerFree, len(workers))
	copy(ws, workers)
	// Workers with the most free cores first (ties by id), so that a
	// spread starts where there is room and replays are deterministic.
	sort.SliceStable(ws, func(i, j int) bool {
		if ws[i].FreeCores != ws[j].FreeCores {
			return ws[i].FreeCores > ws[j].FreeCores
		}
		return ws[i].ID < ws[j].ID
	})
	var plan Plan
	for _, a := range apps {
		launches, wait := allocateApp(ws, a, spreadOut)
		plan.Launches = append(plan.Launches, launches...)
		if wait != nil {
			plan.Waiting = append(plan.Waiting, *wait)
		}
	}
	return plan
}

// coresLeft is how many more cores the application may take (-1: no cap).
func coresLeft(a AppDemand) int {
	if a.MaxCores <= 0 {
		return -1
	}
	return max(0, a.MaxCores-a.GrantedCores)
}

// allocateApp places one application's executors on ws, updating ws's free
// resources.
func allocateApp(ws []WorkerFree, a AppDemand, spreadOut bool) ([]Launch, *Waiting) {
	onePerWorker := a.CoresPerExecutor <= 0
	step := a.CoresPerExecutor
	if onePerWorker {
		step = 1
	}
	left := coresLeft(a)
	execsLeft := -1
	if a.ExecutorLimit >= 0 {
		execsLeft = max(0, a.ExecutorLimit-a.Executors)
	}
	if left == 0 || execsLeft == 0 {
		return nil, nil
	}
	fits := func(w WorkerFree) bool { return w.Cores >= step && w.MemoryMiB >= a.MemPerExecutor }
	anyFits := false
	for _, w := range ws {
		anyFits = anyFits || fits(w)
	}
	if !anyFits {
		return nil, &Waiting{AppID: a.ID, NeverFits: true, Reason: fmt.Sprintf(
			"no alive worker can hold one executor of %d core(s) and %d MiB; the application waits for a worker that can", step, a.MemPerExecutor)}
	}

	// assigned[i] cores and execs[i] new executors on ws[i].
	assigned := make([]int, len(ws))
	execs := make([]int, len(ws))
	freeMem := func(i int) int { return ws[i].FreeMemMiB - execs[i]*a.MemPerExecutor }
	freeCores := func(i int) int { return ws[i].FreeCores - assigned[i] }
	canLaunch := func(i int) bool {
		if left >= 0 && left < step {
			return false
		}
		if freeCores(i) < step {
			return false
		}
		newExec := !onePerWorker || execs[i] == 0
		if onePerWorker && a.OnWorker[ws[i].ID] > 0 {
			return false // the worker already runs this application's executor
		}
		if newExec && (freeMem(i) < a.MemPerExecutor || execsLeft == 0) {
			return false
		}
		return true
	}
	take := func(i int) {
		newExec := !onePerWorker || execs[i] == 0
		assigned[i] += step
		if left > 0 {
			left -= step
		}
		if newExec {
			execs[i]++
			if execsLeft > 0 {
				execsLeft--
			}
		}
	}
	for progress := true; progress; {
		progress = false
		for i := range ws {
			for canLaunch(i) {
				take(i)
				progress = true
				if spreadOut {
					break
				}
			}
		}
	}

	var out []Launch
	for i := range ws {
		if assigned[i] == 0 {
			continue
		}
		if onePerWorker {
			out = append(out, Launch{AppID: a.ID, WorkerID: ws[i].ID, Cores: assigned[i], MemoryMiB: a.MemPerExecutor})
		} else {
			for range execs[i] {
				out = append(out, Launch{AppID: a.ID, WorkerID: ws[i].ID, Cores: step, MemoryMiB: a.MemPerExecutor})
			}
		}
		ws[i].FreeCores -= assigned[i]
		ws[i].FreeMemMiB -= execs[i] * a.MemPerExecutor
	}
	if len(out) == 0 && a.Executors == 0 {
		return nil, &Waiting{AppID: a.ID, Reason: fmt.Sprintf(
			"no worker has %d free core(s) and %d MiB free now; the application waits for resources", step, a.MemPerExecutor)}
	}
	return out, nil
}

package simulate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/stoke-run/stoke/driver/sched"
	"github.com/stoke-run/stoke/internal/conf"
)

// Spec is a declarative workload (JSON). Durations are strings such as
// "250ms" or "2m".
//
//	{
//	  "seed": 1,
//	  "conf": {"stoke.scheduler.mode": "FAIR"},
//	  "pools": [{"name": "adhoc", "schedulingMode": "FAIR", "weight": 1, "minShare": 2}],
//	  "executors": [{"count": 2, "cores": 6}, {"id": "slow", "cores": 6, "slowdown": 4, "lostAt": "30s"}],
//	  "taskFailureRate": 0.01,
//	  "jobs": [{"name": "etl", "pool": "adhoc", "arrival": "0s", "count": 10, "every": "30s",
//	            "stages": [{"tasks": 15, "duration": {"dist": "lognormal", "median": "2s", "sigma": 0.5}},
//	                       {"tasks": 4, "duration": {"dist": "fixed", "value": "1s"}}]}]
//	}
type Spec struct {
	Seed            *uint64           `json:"seed"`
	Conf            map[string]string `json:"conf"`
	Pools           []SpecPool        `json:"pools"`
	Executors       []SpecExecutor    `json:"executors"`
	TaskFailureRate float64           `json:"taskFailureRate"`
	Jobs            []SpecJob         `json:"jobs"`
}

// SpecPool is one pool of the spec's allocation (instead of an XML file).
type SpecPool struct {
	Name     string `json:"name"`
	Mode     string `json:"schedulingMode"`
	Weight   *int   `json:"weight"`
	MinShare int    `json:"minShare"`
}

// SpecExecutor is one executor, or Count identical ones.
type SpecExecutor struct {
	ID       string   `json:"id"`
	Host     string   `json:"host"`
	Count    *int     `json:"count"`
	Cores    int      `json:"cores"`
	Slowdown *float64 `json:"slowdown"`
	AddAt    string   `json:"addAt"`
	LostAt   string   `json:"lostAt"`
}

// SpecJob is one job, or Count jobs Every apart.
type SpecJob struct {
	Name    string      `json:"name"`
	Pool    string      `json:"pool"`
	Arrival string      `json:"arrival"`
	Count   *int        `json:"count"`
	Every   string      `json:"every"`
	Stages  []SpecStage `json:"stages"`
}

// SpecStage is one stage; Parents are indexes of earlier stages of the
// job (default: the stage before, so stages form a chain).
type SpecStage struct {
	Tasks    int          `json:"tasks"`
	Duration Distribution `json:"duration"`
	Parents  *[]int       `json:"parents"`
	// PreferLocal is the fraction of tasks that prefer one executor (its
	// data is there), drawn at random; the others have no preference.
	// It makes stoke.locality.wait matter.
	PreferLocal float64 `json:"preferLocal"`
}

// Distribution is a task-duration distribution: "fixed" (value),
// "uniform" (min, max) or "lognormal" (median, sigma of the logarithm).
type Distribution struct {
	Dist   string  `json:"dist"`
	Value  string  `json:"value"`
	Min    string  `json:"min"`
	Max    string  `json:"max"`
	Median string  `json:"median"`
	Sigma  float64 `json:"sigma"`
}

// ParseSpec decodes a JSON spec strictly (unknown fields are errors).
func ParseSpec(data []byte) (*Spec, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	var s Spec
	if err := d.Decode(&s); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return nil, fmt.Errorf("spec: line %d: malformed JSON: %v", lineOf(data, se.Offset), se)
		case errors.As(err, &te):
			return nil, fmt.Errorf("spec: %s: want a %v, got a JSON %s (line %d)", te.Field, te.Type, te.Value, lineOf(data, te.Offset))
		case errors.Is(err, io.EOF):
			return nil, errors.New("spec: empty document (want a JSON object with executors and jobs)")
		case errors.Is(err, io.ErrUnexpectedEOF):
			return nil, fmt.Errorf("spec: line %d: malformed JSON: the document ends early", lineOf(data, int64(len(data))))
		}
		return nil, fmt.Errorf("spec: %v", err)
	}
	if d.More() {
		return nil, errors.New("spec: data after the JSON object")
	}
	return &s, nil
}

func lineOf(data []byte, off int64) int {
	off = min(max(off, 0), int64(len(data)))
	return bytes.Count(data[:off], []byte("\n")) + 1
}

// specError names the field of a spec that is wrong.
func specError(field, format string, args ...any) error {
	return fmt.Errorf("spec: %s: %s", field, fmt.Sprintf(format, args...))
}

func parseDur(field, v string, required bool) (time.Duration, error) {
	if strings.TrimSpace(v) == "" {
		if required {
			return 0, specError(field, "missing (want a duration such as \"250ms\")")
		}
		return 0, nil
	}
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil || d < 0 {
		return 0, specError(field, "want a duration of at least 0 such as \"250ms\", got %q", v)
	}
	return d, nil
}

// sampler draws task durations.
type sampler func(r *rand.Rand) time.Duration

func (dist Distribution) sampler(field string) (sampler, error) {
	switch strings.ToLower(dist.Dist) {
	case "fixed":
		v, err := parseDur(field+".value", dist.Value, true)
		if err != nil {
			return nil, err
		}
		return func(*rand.Rand) time.Duration { return v }, nil
	case "uniform":
		lo, err := parseDur(field+".min", dist.Min, true)
		if err != nil {
			return nil, err
		}
		hi, err := parseDur(field+".max", dist.Max, true)
		if err != nil {
			return nil, err
		}
		if hi < lo {
			return nil, specError(field+".max", "must be at least min (%v), got %v", lo, hi)
		}
		return func(r *rand.Rand) time.Duration { return lo + time.Duration(r.Int64N(int64(hi-lo)+1)) }, nil
	case "lognormal":
		med, err := parseDur(field+".median", dist.Median, true)
		if err != nil {
			return nil, err
		}
		if med == 0 {
			return nil, specError(field+".median", "must be above 0")
		}
		if dist.Sigma < 0 || dist.Sigma > 5 || math.IsNaN(dist.Sigma) {
			return nil, specError(field+".sigma", "must be in [0,5], got %v", dist.Sigma)
		}
		sig := dist.Sigma
		return func(r *rand.Rand) time.Duration {
			return time.Duration(float64(med) * math.Exp(sig*r.NormFloat64()))
		}, nil
	case "":
		return nil, specError(field+".dist", "missing (want fixed, uniform or lognormal)")
	}
	return nil, specError(field+".dist", "want fixed, uniform or lognormal, got %q", dist.Dist)
}

// Build turns the spec into a workload. seed, when not nil, replaces the
// spec's seed (which defaults to 1); it drives the duration samples.
func (s *Spec) Build(name string, seed *uint64) (*Workload, error) {
	w := &Workload{Name: name, FailureRate: s.TaskFailureRate}
	sd := uint64(1)
	if s.Seed != nil {
		sd = *s.Seed
	}
	if seed != nil {
		sd = *seed
	}
	if r := s.TaskFailureRate; r < 0 || r >= 1 || math.IsNaN(r) {
		return nil, specError("taskFailureRate", "must be in [0,1), got %v", r)
	}
	keys := make([]string, 0, len(s.Conf))
	for k := range s.Conf {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		w.Base = append(w.Base, conf.Entry{Key: k, Value: s.Conf[k], Source: conf.SourcePropertiesFile})
	}
	if s.Pools != nil {
		w.Pools = []sched.PoolConfig{}
	}
	for i, p := range s.Pools {
		f := fmt.Sprintf("pools[%d]", i)
		if strings.TrimSpace(p.Name) == "" {
			return nil, specError(f+".name", "missing")
		}
		pc := sched.PoolConfig{Name: p.Name, Mode: sched.FIFO, Weight: 1, MinShare: p.MinShare}
		if p.Mode != "" {
			m, err := sched.ParseMode(p.Mode)
			if err != nil {
				return nil, specError(f+".schedulingMode", "%v", err)
			}
			pc.Mode = m
		}
		if p.Weight != nil {
			if *p.Weight < 1 {
				return nil, specError(f+".weight", "must be at least 1, got %d", *p.Weight)
			}
			pc.Weight = *p.Weight
		}
		if p.MinShare < 0 {
			return nil, specError(f+".minShare", "must be at least 0, got %d", p.MinShare)
		}
		w.Pools = append(w.Pools, pc)
	}
	if len(s.Executors) == 0 {
		return nil, specError("executors", "missing (want at least one executor, e.g. [{\"count\": 2, \"cores\": 4}])")
	}
	seen := map[string]bool{}
	for i, e := range s.Executors {
		f := fmt.Sprintf("executors[%d]", i)
		count := 1
		if e.Count != nil {
			count = *e.Count
			if count < 1 || count > 1_000_000 {
				return nil, specError(f+".count", "must be in [1, 1000000], got %d", count)
			}
		}
		if e.Cores < 1 {
			return nil, specError(f+".cores", "must be at least 1, got %d", e.Cores)
		}
		slow := 1.0
		if e.Slowdown != nil {
			slow = *e.Slowdown
			if !(slow > 0) || slow > 1e6 {
				return nil, specError(f+".slowdown", "must be above 0 (1 is normal speed, 4 four times slower), got %v", slow)
			}
		}
		add, err := parseDur(f+".addAt", e.AddAt, false)
		if err != nil {
			return nil, err
		}
		lost := Never
		if e.LostAt != "" {
			if lost, err = parseDur(f+".lostAt", e.LostAt, true); err != nil {
				return nil, err
			}
			if lost < add {
				return nil, specError(f+".lostAt", "must not be before addAt (%v), got %v", add, lost)
			}
		}
		if e.ID != "" && count > 1 {
			return nil, specError(f+".id", "an id names one executor; drop it or the count")
		}
		for k := range count {
			id := e.ID
			if id == "" {
				id = fmt.Sprintf("exec-%d", len(w.Executors)+1)
				for seen[id] {
					id += "'"
				}
			}
			if seen[id] {
				return nil, specError(f+".id", "%q is used twice", id)
			}
			seen[id] = true
			host := e.Host
			if host == "" {
				host = "host-" + id
			}
			_ = k
			w.Executors = append(w.Executors, Executor{ID: id, Host: host, Cores: e.Cores, Add: add, Lost: lost, Slowdown: slow})
		}
	}
	if len(s.Jobs) == 0 {
		return nil, specError("jobs", "missing (want at least one job)")
	}
	type pending struct {
		job  Job
		src  int // spec job index
		copy int
	}
	var jobs []pending
	rng := rand.New(rand.NewPCG(sd, 0xd0c5))
	for i, sj := range s.Jobs {
		f := fmt.Sprintf("jobs[%d]", i)
		arr, err := parseDur(f+".arrival", sj.Arrival, false)
		if err != nil {
			return nil, err
		}
		count := 1
		if sj.Count != nil {
			count = *sj.Count
			if count < 1 || count > 10_000_000 {
				return nil, specError(f+".count", "must be in [1, 10000000], got %d", count)
			}
		}
		every, err := parseDur(f+".every", sj.Every, false)
		if err != nil {
			return nil, err
		}
		if len(sj.Stages) == 0 {
			return nil, specError(f+".stages", "missing (want at least one stage)")
		}
		samplers := make([]sampler, len(sj.Stages))
		for k, st := range sj.Stages {
			sf := fmt.Sprintf("%s.stages[%d]", f, k)
			if st.Tasks < 1 || st.Tasks > 10_000_000 {
				return nil, specError(sf+".tasks", "must be in [1, 10000000], got %d", st.Tasks)
			}
			if samplers[k], err = st.Duration.sampler(sf + ".duration"); err != nil {
				return nil, err
			}
			if p := st.PreferLocal; p < 0 || p > 1 || math.IsNaN(p) {
				return nil, specError(sf+".preferLocal", "must be in [0,1], got %v", p)
			}
			if st.Parents != nil {
				for _, p := range *st.Parents {
					if p < 0 || p >= k {
						return nil, specError(sf+".parents", "%d is not an earlier stage of the job (0..%d)", p, k-1)
					}
				}
			}
		}
		for c := range count {
			j := Job{Name: sj.Name, Pool: sj.Pool, Arrival: arr + time.Duration(c)*every}
			for k, st := range sj.Stages {
				stage := Stage{Durations: make([]time.Duration, st.Tasks)}
				switch {
				case st.Parents != nil:
					stage.Parents = append([]int(nil), (*st.Parents)...)
				case k > 0:
					stage.Parents = []int{k - 1}
				}
				for t := range stage.Durations {
					stage.Durations[t] = samplers[k](rng)
				}
				if st.PreferLocal > 0 {
					stage.Prefs = map[int][]sched.Location{}
					for t := range stage.Durations {
						if rng.Float64() < st.PreferLocal {
							e := w.Executors[rng.IntN(len(w.Executors))]
							stage.Prefs[t] = []sched.Location{{Host: e.Host, ExecutorID: e.ID}}
						}
					}
				}
				j.Stages = append(j.Stages, stage)
			}
			jobs = append(jobs, pending{job: j, src: i, copy: c})
		}
	}
	// Arrival order (stable: spec order among equal times) gives job ids.
	sort.SliceStable(jobs, func(a, b int) bool { return jobs[a].job.Arrival < jobs[b].job.Arrival })
	stageID := 0
	for id, p := range jobs {
		j := p.job
		j.ID = id
		if j.Name == "" {
			j.Name = fmt.Sprintf("job%d", p.src)
		}
		if count := s.Jobs[p.src].Count; count != nil && *count > 1 {
			j.Name = fmt.Sprintf("%s#%d", j.Name, p.copy)
		}
		for k := range j.Stages {
			j.Stages[k].ID = stageID
			stageID++
		}
		w.Jobs = append(w.Jobs, j)
	}
	return w, w.check()
}

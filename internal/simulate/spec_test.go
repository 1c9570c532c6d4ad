package simulate

import (
	"strings"
	"testing"
)

const okExecs = `"executors":[{"count":1,"cores":2}]`
const okJobs = `"jobs":[{"stages":[{"tasks":1,"duration":{"dist":"fixed","value":"1s"}}]}]`

// Every malformed spec is refused with an error naming the field.
func TestMalformedSpecsNameTheField(t *testing.T) {
	for _, c := range []struct{ spec, want string }{
		{``, "empty document"},
		{`{`, "malformed JSON"},
		{`[1,2]`, "want a simulate.Spec"},
		{`{"executors":[{"count":1,"cores":2}],"jobs":[]} trailing`, "data after"},
		{`{"executor":[],` + okJobs + `}`, `unknown field "executor"`},
		{`{` + okJobs + `}`, "executors: missing"},
		{`{` + okExecs + `}`, "jobs: missing"},
		{`{"executors":[{"count":0,"cores":2}],` + okJobs + `}`, "executors[0].count: must be in"},
		{`{"executors":[{"cores":0}],` + okJobs + `}`, "executors[0].cores: must be at least 1"},
		{`{"executors":[{"cores":"four"}],` + okJobs + `}`, "executors.cores: want a int, got a JSON string"},
		{`{"executors":[{"cores":2,"slowdown":0}],` + okJobs + `}`, "executors[0].slowdown: must be above 0"},
		{`{"executors":[{"cores":2,"slowdown":-2}],` + okJobs + `}`, "executors[0].slowdown"},
		{`{"executors":[{"cores":2,"addAt":"soon"}],` + okJobs + `}`, `executors[0].addAt: want a duration`},
		{`{"executors":[{"cores":2,"addAt":"5s","lostAt":"1s"}],` + okJobs + `}`, "executors[0].lostAt: must not be before addAt"},
		{`{"executors":[{"cores":2,"lostAt":"-1s"}],` + okJobs + `}`, "executors[0].lostAt: want a duration of at least 0"},
		{`{"executors":[{"id":"a","count":2,"cores":2}],` + okJobs + `}`, "executors[0].id: an id names one executor"},
		{`{"executors":[{"id":"a","cores":2},{"id":"a","cores":2}],` + okJobs + `}`, `executors[1].id: "a" is used twice`},
		{`{` + okExecs + `,"taskFailureRate":1,` + okJobs + `}`, "taskFailureRate: must be in [0,1)"},
		{`{` + okExecs + `,"taskFailureRate":-0.1,` + okJobs + `}`, "taskFailureRate"},
		{`{` + okExecs + `,"pools":[{"weight":2}],` + okJobs + `}`, "pools[0].name: missing"},
		{`{` + okExecs + `,"pools":[{"name":"a","weight":0}],` + okJobs + `}`, "pools[0].weight: must be at least 1"},
		{`{` + okExecs + `,"pools":[{"name":"a","minShare":-1}],` + okJobs + `}`, "pools[0].minShare: must be at least 0"},
		{`{` + okExecs + `,"pools":[{"name":"a","schedulingMode":"LIFO"}],` + okJobs + `}`, "pools[0].schedulingMode"},
		{`{` + okExecs + `,"jobs":[{"stages":[]}]}`, "jobs[0].stages: missing"},
		{`{` + okExecs + `,"jobs":[{"count":0,"stages":[{"tasks":1,"duration":{"dist":"fixed","value":"1s"}}]}]}`, "jobs[0].count: must be in"},
		{`{` + okExecs + `,"jobs":[{"arrival":"yesterday","stages":[{"tasks":1,"duration":{"dist":"fixed","value":"1s"}}]}]}`, "jobs[0].arrival: want a duration"},
		{`{` + okExecs + `,"jobs":[{"every":"-1s","stages":[{"tasks":1,"duration":{"dist":"fixed","value":"1s"}}]}]}`, "jobs[0].every"},
		{`{` + okExecs + `,"jobs":[{"stages":[{"tasks":0,"duration":{"dist":"fixed","value":"1s"}}]}]}`, "jobs[0].stages[0].tasks: must be in"},
		{`{` + okExecs + `,"jobs":[{"stages":[{"tasks":1}]}]}`, "jobs[0].stages[0].duration.dist: missing"},
		{`{` + okExecs + `,"jobs":[{"stages":[{"tasks":1,"preferLocal":1.5,"duration":{"dist":"fixed","value":"1s"}}]}]}`, "jobs[0].stages[0].preferLocal: must be in [0,1]"},
		{`{` + okExecs + `,"jobs":[{"stages":[{"tasks":1,"duration":{"dist":"pareto"}}]}]}`, `jobs[0].stages[0].duration.dist: want fixed, uniform or lognormal, got "pareto"`},
		{`{` + okExecs + `,"jobs":[{"stages":[{"tasks":1,"duration":{"dist":"fixed"}}]}]}`, "jobs[0].stages[0].duration.value: missing"},
		{`{` + okExecs + `,"jobs":[{"stages":[{"tasks":1,"duration":{"dist":"uniform","min":"2s","max":"1s"}}]}]}`, "jobs[0].stages[0].duration.max: must be at least min"},
		{`{` + okExecs + `,"jobs":[{"stages":[{"tasks":1,"duration":{"dist":"uniform","min":"2s"}}]}]}`, "jobs[0].stages[0].duration.max: missing"},
		{`{` + okExecs + `,"jobs":[{"stages":[{"tasks":1,"duration":{"dist":"lognormal","median":"0s"}}]}]}`, "duration.median: must be above 0"},
		{`{` + okExecs + `,"jobs":[{"stages":[{"tasks":1,"duration":{"dist":"lognormal","median":"1s","sigma":-1}}]}]}`, "duration.sigma: must be in [0,5]"},
		{`{` + okExecs + `,"jobs":[{"stages":[{"tasks":1,"duration":{"dist":"fixed","value":"1s"}},{"tasks":1,"duration":{"dist":"fixed","value":"1s"},"parents":[1]}]}]}`, "jobs[0].stages[1].parents: 1 is not an earlier stage"},
	} {
		s, err := ParseSpec([]byte(c.spec))
		if err == nil {
			_, err = s.Build("t", nil)
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("spec %s:\n  error %v\n  want it to contain %q", c.spec, err, c.want)
		}
	}
}

func TestSpecDefaultsAndExpansion(t *testing.T) {
	s, err := ParseSpec([]byte(`{"executors":[{"count":2,"cores":3},{"id":"slow","cores":1,"slowdown":2.5,"lostAt":"4s"}],
		"jobs":[{"name":"b","arrival":"2s","stages":[{"tasks":2,"duration":{"dist":"fixed","value":"1s"}}]},
		        {"name":"a","count":2,"every":"1s","stages":[{"tasks":1,"duration":{"dist":"uniform","min":"1s","max":"2s"}},
		         {"tasks":3,"duration":{"dist":"lognormal","median":"1s","sigma":0.5}},{"tasks":1,"duration":{"dist":"fixed","value":"0s"},"parents":[]}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	w, err := s.Build("t", nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range w.Executors {
		ids = append(ids, e.ID+"@"+e.Host)
	}
	if got := strings.Join(ids, " "); got != "exec-1@host-exec-1 exec-2@host-exec-2 slow@host-slow" {
		t.Errorf("executors %s", got)
	}
	if e := w.Executors[2]; e.Slowdown != 2.5 || e.Lost != 4e9 || w.Executors[0].Lost != Never {
		t.Errorf("slow executor %+v", e)
	}
	var names []string
	for _, j := range w.Jobs {
		names = append(names, j.Name)
	}
	// Arrival order: a#0 at 0s, a#1 at 1s, b at 2s.
	if got := strings.Join(names, " "); got != "a#0 a#1 b" {
		t.Errorf("jobs %s", got)
	}
	st := w.Jobs[0].Stages
	if len(st[0].Parents) != 0 || len(st[1].Parents) != 1 || st[1].Parents[0] != 0 || len(st[2].Parents) != 0 {
		t.Errorf("parents %v %v %v: want a chain by default and none when given []", st[0].Parents, st[1].Parents, st[2].Parents)
	}
	for _, d := range st[0].Durations {
		if d < 1e9 || d > 2e9 {
			t.Errorf("uniform sample %v outside [1s,2s]", d)
		}
	}
}

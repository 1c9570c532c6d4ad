package ui

import (
	"strings"
	"testing"
)

// A job's DAG: one box per stage, pending ones too, an edge per parent
// inside the job, names escaped, parents to the left of their children.
func TestDAGSVG(t *testing.T) {
	stages := []StageInfo{
		{ID: 3, Name: "map <a>", Status: StatusComplete},
		{ID: 4, Name: "map b", Status: StatusRunning},
		{ID: 5, Name: "join", Status: StatusRunning, ParentIDs: []int{3, 4, 99}},
	}
	svg := string(dagSVG([]int{3, 4, 5, 6}, stages))
	if !strings.HasPrefix(svg, `<svg id="dag"`) || strings.Count(svg, `<g class="stage">`) != 4 {
		t.Fatalf("boxes: %s", svg)
	}
	if n := strings.Count(svg, "<line "); n != 2 {
		t.Errorf("%d edges, want 2 (stage 99 is not in the job)", n)
	}
	if strings.Contains(svg, "map <a>") || !strings.Contains(svg, "map &lt;a&gt;") {
		t.Errorf("a stage name is not escaped")
	}
	if !strings.Contains(svg, "Stage 6 (pending)") || !strings.Contains(svg, `href="stages/stage/?id=5&amp;attempt=0"`) || strings.Contains(svg, `?id=6&`) {
		t.Errorf("pending stage or link missing: %s", svg)
	}
	x := func(id string) int {
		prefix := `href="stages/stage/?id=` + id + `&amp;attempt=0"><g class="stage"><rect x="`
		i := strings.Index(svg, prefix)
		var v int
		if i < 0 {
			t.Fatalf("no box for stage %s", id)
		}
		rest := svg[i+len(prefix):]
		for _, c := range rest {
			if c < '0' || c > '9' {
				break
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	if !(x("3") < x("5") && x("4") < x("5")) {
		t.Errorf("parents are not left of their child: 3 at %d, 4 at %d, 5 at %d", x("3"), x("4"), x("5"))
	}
	if dagSVG(nil, nil) != "" {
		t.Error("a job without stages draws something")
	}
}

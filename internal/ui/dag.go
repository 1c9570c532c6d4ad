package ui

import (
	"fmt"
	"html"
	"html/template"
	"sort"
	"strings"
)

// dagSVG draws a job's stages as a graph, parents left of their children,
// as inline SVG (no script, no asset from anywhere). stageIDs are the job's
// stages, submitted or not; stages holds what is known of the submitted
// ones (their names, parents and status). Each box links to its stage.
func dagSVG(stageIDs []int, stages []StageInfo) template.HTML {
	if len(stageIDs) == 0 {
		return ""
	}
	known := map[int]StageInfo{}
	for _, st := range stages {
		if old, ok := known[st.ID]; !ok || st.Attempt > old.Attempt {
			known[st.ID] = st
		}
	}
	inJob := map[int]bool{}
	for _, id := range stageIDs {
		inJob[id] = true
	}
	// Depth: the longest chain of parents in the job before a stage.
	depth := map[int]int{}
	var depthOf func(id int, seen map[int]bool) int
	depthOf = func(id int, seen map[int]bool) int {
		if d, ok := depth[id]; ok {
			return d
		}
		if seen[id] {
			return 0 // a cycle cannot happen; do not loop if it did
		}
		seen[id] = true
		d := 0
		for _, p := range known[id].ParentIDs {
			if inJob[p] {
				d = max(d, depthOf(p, seen)+1)
			}
		}
		depth[id] = d
		return d
	}
	columns := map[int][]int{}
	maxDepth := 0
	for _, id := range stageIDs {
		d := depthOf(id, map[int]bool{})
		columns[d] = append(columns[d], id)
		maxDepth = max(maxDepth, d)
	}
	const boxW, boxH, gapX, gapY, pad = 170, 46, 60, 18, 10
	pos := map[int][2]int{}
	rows := 0
	for d := 0; d <= maxDepth; d++ {
		sort.Ints(columns[d])
		for i, id := range columns[d] {
			pos[id] = [2]int{pad + d*(boxW+gapX), pad + i*(boxH+gapY)}
		}
		rows = max(rows, len(columns[d]))
	}
	width := pad*2 + (maxDepth+1)*boxW + maxDepth*gapX
	height := pad*2 + rows*boxH + max(rows-1, 0)*gapY
	var b strings.Builder
	fmt.Fprintf(&b, `<svg id="dag" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" role="img" aria-label="stages of the job">`, width, height)
	b.WriteString(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0L10,5L0,10z" fill="#888"/></marker></defs>`)
	for _, id := range stageIDs {
		for _, p := range known[id].ParentIDs {
			from, ok := pos[p]
			if !ok {
				continue
			}
			to := pos[id]
			fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#888" marker-end="url(#arrow)"/>`, from[0]+boxW, from[1]+boxH/2, to[0], to[1]+boxH/2)
		}
	}
	for _, id := range stageIDs {
		p := pos[id]
		st, ok := known[id]
		fill, status, name := "#f4f4f4", "pending", ""
		if ok {
			name, status = st.Name, strings.ToLower(st.Status)
			switch st.Status {
			case StatusRunning:
				fill = "#dbe9f6"
			case StatusComplete, StatusSucceeded:
				fill = "#dcefdc"
			case StatusFailed:
				fill = "#f6d6d6"
			}
		}
		if len([]rune(name)) > 24 {
			name = string([]rune(name)[:23]) + "…"
		}
		if ok { // a pending stage has no page yet
			fmt.Fprintf(&b, `<a href="stages/stage/?id=%d&amp;attempt=%d">`, id, st.Attempt)
		}
		fmt.Fprintf(&b, `<g class="stage"><rect x="%d" y="%d" width="%d" height="%d" rx="4" fill="%s" stroke="#999"/>`, p[0], p[1], boxW, boxH, fill)
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="12" font-family="sans-serif">Stage %d (%s)</text>`, p[0]+6, p[1]+17, id, html.EscapeString(status))
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" font-family="sans-serif" fill="#444">%s</text></g>`, p[0]+6, p[1]+34, html.EscapeString(name))
		if ok {
			b.WriteString(`</a>`)
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

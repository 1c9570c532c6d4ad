package ui

import (
	"fmt"
	"html"
	"html/template"
	"strings"
	"time"
)

// maxTimelineItems bounds what one timeline draws per lane (the latest).
const maxTimelineItems = 200

// timelineSVG draws the application's event timeline as inline SVG: one
// row per executor (from added to removed, or now) and one row per job
// (from submitted to completed, coloured by outcome), on one time axis
// from the application's start. Each job's bar links to its page.
func timelineSVG(app AppInfo, jobs []JobInfo, execs []ExecutorInfo, now time.Time) template.HTML {
	start, end := app.StartTime, now
	if app.Completed && !app.EndTime.IsZero() {
		end = app.EndTime
	}
	if start.IsZero() || !end.After(start) {
		return ""
	}
	if len(jobs) > maxTimelineItems {
		jobs = jobs[len(jobs)-maxTimelineItems:]
	}
	if len(execs) > maxTimelineItems {
		execs = execs[len(execs)-maxTimelineItems:]
	}
	const labelW, plotW, rowH, pad = 150, 700, 16, 20
	span := end.Sub(start)
	x := func(t time.Time) float64 {
		if t.IsZero() || t.After(end) {
			t = end
		}
		if t.Before(start) {
			t = start
		}
		return labelW + float64(plotW)*float64(t.Sub(start))/float64(span)
	}
	rows := len(execs) + len(jobs) + 2
	height := pad*2 + rows*rowH
	var b strings.Builder
	fmt.Fprintf(&b, `<svg id="timeline" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11" role="img" aria-label="event timeline">`, labelW+plotW+pad, height)
	y := pad
	fmt.Fprintf(&b, `<text x="0" y="%d" font-weight="bold">Executors</text>`, y+11)
	y += rowH
	for _, e := range execs {
		fmt.Fprintf(&b, `<g class="executor"><text x="8" y="%d">%s</text><rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"><title>executor %s on %s: added %s%s</title></rect></g>`,
			y+11, html.EscapeString(trimLabel("executor "+e.ID, 22)), x(e.AddTime), y+2, max(x(e.RemoveTime)-x(e.AddTime), 1), rowH-4,
			map[bool]string{true: "#7fb3d5", false: "#c8c8c8"}[e.Active],
			html.EscapeString(e.ID), html.EscapeString(e.Host), e.AddTime.UTC().Format(time.TimeOnly),
			html.EscapeString(removal(e)))
		y += rowH
	}
	fmt.Fprintf(&b, `<text x="0" y="%d" font-weight="bold">Jobs</text>`, y+11)
	y += rowH
	for _, j := range jobs {
		color := "#5dade2"
		switch j.Status {
		case StatusSucceeded:
			color = "#58b368"
		case StatusFailed:
			color = "#d9534f"
		}
		fmt.Fprintf(&b, `<a href="jobs/job/?id=%d"><g class="job"><text x="8" y="%d">%s</text><rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"><title>job %d (%s): %s</title></rect></g></a>`,
			j.ID, y+11, html.EscapeString(trimLabel(fmt.Sprintf("job %d %s", j.ID, j.Description), 22)), x(j.SubmissionTime), y+2,
			max(x(j.CompletionTime)-x(j.SubmissionTime), 1), rowH-4, color, j.ID, strings.ToLower(j.Status), fmtDuration(j.Duration(now)))
		y += rowH
	}
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#999"/><text x="%d" y="%d">0 s</text><text x="%d" y="%d" text-anchor="end">%s</text>`,
		labelW, y+2, labelW+plotW, y+2, labelW, y+14, labelW+plotW, y+14, fmtDuration(span))
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func removal(e ExecutorInfo) string {
	if e.Active {
		return ""
	}
	return fmt.Sprintf(", removed %s: %s", e.RemoveTime.UTC().Format(time.TimeOnly), e.RemoveReason)
}

func trimLabel(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

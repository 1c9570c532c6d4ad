package simulate

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the results of one workload under several configurations.
type Report struct {
	Workload  string    `json:"workload"`
	Jobs      int       `json:"jobs"`
	Tasks     int       `json:"tasks"`
	Executors int       `json:"executors"`
	Seed      uint64    `json:"seed"`
	Recorded  bool      `json:"recorded"` // the workload has real job durations
	Results   []*Result `json:"results"`
	// Intro is trusted HTML placed under the title of the HTML report (the
	// history server puts its settings form there).
	Intro template.HTML `json:"-"`
}

// NewReport describes w's results.
func NewReport(w *Workload, seed uint64, results []*Result) *Report {
	r := &Report{Workload: w.Name, Jobs: len(w.Jobs), Tasks: w.Tasks(), Executors: len(w.Executors), Seed: seed, Results: results}
	for _, j := range w.Jobs {
		if j.Recorded > 0 {
			r.Recorded = true
		}
	}
	return r
}

// MaxTextJobs bounds the job rows of the text and HTML reports; JSON has
// every job.
const MaxTextJobs = 40

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// row is one line of the side-by-side table: a label and a cell per column.
type row struct {
	Label string
	Cells []string
}

// table builds the side-by-side comparison: one column per configuration,
// preceded by the recorded run when there is one.
func (r *Report) table() (header []string, rows []row) {
	header = append(header, "")
	if r.Recorded {
		header = append(header, "real run")
	}
	for _, res := range r.Results {
		header = append(header, res.Config)
	}
	add := func(label string, real string, f func(*Result) string) {
		rw := row{Label: label}
		if r.Recorded {
			rw.Cells = append(rw.Cells, real)
		}
		for _, res := range r.Results {
			rw.Cells = append(rw.Cells, f(res))
		}
		rows = append(rows, rw)
	}
	var realMakespan string
	if r.Recorded && len(r.Results) > 0 {
		var first, last time.Duration
		for i, j := range r.Results[0].Jobs {
			if i == 0 {
				first = time.Duration(j.Arrival)
			}
			if j.Recorded != nil {
				last = max(last, time.Duration(j.Arrival)+time.Duration(*j.Recorded))
			}
		}
		realMakespan = Dur(last - first).String()
	}
	add("mode", "", func(x *Result) string { return x.Mode })
	add("makespan", realMakespan, func(x *Result) string { return x.Makespan.String() })
	add("slot utilization", "", func(x *Result) string { return pct(x.Utilization) })
	add("tasks launched", "", func(x *Result) string { return fmt.Sprint(x.Tasks.Launched) })
	add("speculative copies (won)", "", func(x *Result) string {
		return fmt.Sprintf("%d (%d)", x.Tasks.Speculative, x.Tasks.SpeculativeWon)
	})
	add("failed / killed / lost", "", func(x *Result) string {
		return fmt.Sprintf("%d / %d / %d", x.Tasks.Failed, x.Tasks.Killed, x.Tasks.Lost)
	})
	add("unfinished jobs", "", func(x *Result) string { return fmt.Sprint(x.Unfinished) })
	if len(r.Results) == 0 {
		return header, rows
	}
	for pi, p := range r.Results[0].Pools {
		real := ""
		if r.Recorded {
			var ds []time.Duration
			for _, j := range r.Results[0].Jobs {
				if j.Pool == p.Name && j.Recorded != nil {
					ds = append(ds, time.Duration(*j.Recorded))
				}
			}
			slices.Sort(ds)
			real = fmt.Sprintf("%v / %v / %v", Dur(percentile(ds, .5)), Dur(percentile(ds, .95)), Dur(last(ds)))
		}
		add(fmt.Sprintf("pool %s p50/p95/max", p.Name), real, func(x *Result) string {
			if pi >= len(x.Pools) {
				return "-"
			}
			q := x.Pools[pi]
			return fmt.Sprintf("%v / %v / %v", q.P50, q.P95, q.Max)
		})
		add(fmt.Sprintf("pool %s share (fair)", p.Name), "", func(x *Result) string {
			if pi >= len(x.Pools) {
				return "-"
			}
			q := x.Pools[pi]
			if x.Mode != "FAIR" {
				return pct(q.AvgShare)
			}
			return fmt.Sprintf("%s (%s)", pct(q.AvgShare), pct(q.FairShare))
		})
	}
	for i, j := range r.Results[0].Jobs {
		if i == MaxTextJobs {
			rows = append(rows, row{Label: fmt.Sprintf("... %d more jobs (see --format json)", len(r.Results[0].Jobs)-i)})
			break
		}
		real := ""
		if j.Recorded != nil {
			real = j.Recorded.String()
		}
		label := fmt.Sprintf("job %d", j.ID)
		if j.Pool != "default" {
			label += " [" + j.Pool + "]"
		}
		add(label, real, func(x *Result) string {
			if i >= len(x.Jobs) {
				return "-"
			}
			jr := x.Jobs[i]
			switch {
			case jr.Error != "" && !jr.Succeeded && jr.End == 0:
				return "unfinished"
			case !jr.Succeeded:
				return jr.Duration.String() + " (failed)"
			}
			return jr.Duration.String()
		})
	}
	return header, rows
}

func last(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[len(d)-1]
}

func pct(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) }

// WriteText writes the side-by-side table, then each configuration's pool
// shares and warnings.
func (r *Report) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "workload %s: %d jobs, %d tasks, %d executors; seed %d\n\n", r.Workload, r.Jobs, r.Tasks, r.Executors, r.Seed)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	header, rows := r.table()
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, rw := range rows {
		fmt.Fprintln(tw, rw.Label+"\t"+strings.Join(rw.Cells, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, res := range r.Results {
		fmt.Fprintf(w, "\n%s", res.Config)
		if len(res.Changes) > 0 && !strings.Contains(res.Config, "=") {
			var cs []string
			for _, c := range res.Changes {
				cs = append(cs, c.Key+"="+c.Value)
			}
			fmt.Fprintf(w, " (%s)", strings.Join(cs, ", "))
		}
		fmt.Fprintln(w, ":")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  pool\tweight\tminShare\tjobs\tactive\tavg share\tfair share\tbelow minShare")
		for _, p := range res.Pools {
			fair := "-"
			if res.Mode == "FAIR" {
				fair = pct(p.FairShare)
			}
			fmt.Fprintf(tw, "  %s\t%d\t%d\t%d\t%v\t%s\t%s\t%s\n", p.Name, p.Weight, p.MinShare, p.Jobs, p.ActiveTime, pct(p.AvgShare), fair, pct(p.BelowMinShare))
		}
		tw.Flush()
		for _, wmsg := range res.Warnings {
			fmt.Fprintf(w, "  warning: %s\n", wmsg)
		}
	}
	return nil
}

var palette = []string{"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"}

// chart is one configuration's share-over-time plot.
type chart struct {
	Title  string
	Width  int
	Height int
	Areas  []area
	Total  string // polyline points of the slots available
	Ticks  []tick
	YTicks []tick
}

type area struct {
	Name, Color, Points string
	Label               string
}

type tick struct {
	Pos   float64
	Label string
}

func (r *Report) charts() []chart {
	var out []chart
	const W, H, L, B = 720, 220, 40, 20 // size, left and bottom margins
	for _, res := range r.Results {
		s := res.Share
		c := chart{Title: res.Config, Width: W, Height: H}
		n := len(s.Total)
		if n == 0 {
			out = append(out, c)
			continue
		}
		top := 1.0
		for _, v := range s.Total {
			top = max(top, v)
		}
		x := func(b int) float64 { return L + float64(b)*float64(W-L-10)/float64(n) }
		y := func(v float64) float64 { return float64(H-B) - v/top*float64(H-B-10) }
		base := make([]float64, n)
		for p, name := range s.Pools {
			var pts strings.Builder
			for b := 0; b < n; b++ { // upper edge, left to right (step per bucket)
				v := base[b] + s.Slots[p][b]
				fmt.Fprintf(&pts, "%.1f,%.1f %.1f,%.1f ", x(b), y(v), x(b+1), y(v))
			}
			for b := n - 1; b >= 0; b-- { // lower edge back
				fmt.Fprintf(&pts, "%.1f,%.1f %.1f,%.1f ", x(b+1), y(base[b]), x(b), y(base[b]))
			}
			for b := range base {
				base[b] += s.Slots[p][b]
			}
			label := name
			for _, pr := range res.Pools {
				if pr.Name == name {
					label = fmt.Sprintf("%s (weight %d, minShare %d; avg share %s, fair %s)", name, pr.Weight, pr.MinShare, pct(pr.AvgShare), pct(pr.FairShare))
				}
			}
			c.Areas = append(c.Areas, area{Name: name, Color: palette[p%len(palette)], Points: pts.String(), Label: label})
		}
		var tot strings.Builder
		for b := 0; b < n; b++ {
			fmt.Fprintf(&tot, "%.1f,%.1f %.1f,%.1f ", x(b), y(s.Total[b]), x(b+1), y(s.Total[b]))
		}
		c.Total = tot.String()
		span := time.Duration(s.Bucket) * time.Duration(n)
		for i := 0; i <= 4; i++ {
			c.Ticks = append(c.Ticks, tick{Pos: x(0) + float64(i)*(x(n)-x(0))/4, Label: Dur(time.Duration(s.Start) + span*time.Duration(i)/4).String()})
			c.YTicks = append(c.YTicks, tick{Pos: y(top * float64(i) / 4), Label: fmt.Sprintf("%.0f", top*float64(i)/4)})
		}
		out = append(out, c)
	}
	return out
}

var htmlReport = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>stoke simulate: {{.R.Workload}}</title>
<style>
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}
td:first-child,th:first-child{text-align:left}
th{background:#f3f3f3}
svg text{font-size:11px;fill:#444}
.warn{color:#a40}
</style></head><body>
<h1>stoke simulate</h1>
{{.R.Intro}}
<p>Workload <b>{{.R.Workload}}</b>: {{.R.Jobs}} jobs, {{.R.Tasks}} tasks, {{.R.Executors}} executors; seed {{.R.Seed}}.</p>
<h2>Side by side</h2>
<table><tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr><td>{{.Label}}</td>{{range .Cells}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>
<h2>Share of the slots over time</h2>
<p>Running tasks per pool (stacked), and the slots available (black line).</p>
{{range $i, $c := .Charts}}<h3>{{$c.Title}}</h3>
<svg xmlns="http://www.w3.org/2000/svg" width="{{$c.Width}}" height="{{$c.Height}}" viewBox="0 0 {{$c.Width}} {{$c.Height}}" role="img" aria-label="share over time, {{$c.Title}}">
{{range $c.Areas}}<polygon points="{{.Points}}" fill="{{.Color}}" fill-opacity="0.85"><title>{{.Name}}</title></polygon>
{{end}}{{if $c.Total}}<polyline points="{{$c.Total}}" fill="none" stroke="#000" stroke-width="1"/>{{end}}
{{range $c.Ticks}}<text x="{{.Pos}}" y="{{$c.Height}}" text-anchor="middle">{{.Label}}</text>
{{end}}{{range $c.YTicks}}<text x="34" y="{{.Pos}}" text-anchor="end">{{.Label}}</text>
{{end}}</svg>
<div class="legend">{{range $c.Areas}}<div><svg width="12" height="12"><rect width="12" height="12" fill="{{.Color}}"/></svg> {{.Label}}</div>{{end}}</div>
{{end}}
{{range .R.Results}}{{if .Warnings}}<h3>Warnings: {{.Config}}</h3><ul>{{range .Warnings}}<li class="warn">{{.}}</li>{{end}}</ul>{{end}}{{end}}
</body></html>
`))

// WriteHTML writes a self-contained HTML page: the side-by-side table and
// an inline SVG plot of the share over time of every configuration.
func (r *Report) WriteHTML(w io.Writer) error {
	header, rows := r.table()
	return htmlReport.Execute(w, struct {
		R      *Report
		Header []string
		Rows   []row
		Charts []chart
	}{r, header, rows, r.charts()})
}

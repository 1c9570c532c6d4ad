package main

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"sync"

	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/internal/simulate"
)

// Bounds of the settings a replay page accepts.
const (
	maxReplaySettings = 8 << 10
	maxReplayLines    = 100
)

var replayForm = template.Must(template.New("form").Parse(`<form method="get" action="./">
<p>Replay this application's jobs through the scheduler with other settings: one <code>key=value</code>
per line (<code>stoke.scheduler.mode</code>, <code>stoke.simulate.pool.&lt;pool&gt;.weight</code>,
<code>.minShare</code>, <code>.schedulingMode</code>, <code>stoke.speculation*</code>,
<code>stoke.locality.wait</code>, <code>stoke.task.cpus</code>, <code>executors</code>…).
<a href="../jobs/">Back to the application</a>.</p>
<textarea name="conf" rows="6" cols="70">{{.Settings}}</textarea><br>
<button type="submit">Replay</button>
</form>
{{if .Error}}<p class="warn">{{.Error}}</p>{{end}}`))

// replayHandler serves the history server's "replay with other settings"
// page for a workload read from an event log: a form, and the report of
// the application as recorded next to the settings submitted.
func replayHandler(w *simulate.Workload) http.Handler {
	var mu sync.Mutex // one replay at a time
	example := ""
	for _, p := range w.Pools {
		if p.Name != "default" {
			example += fmt.Sprintf("stoke.simulate.pool.%s.weight=%d\n", p.Name, p.Weight)
		}
	}
	if example == "" {
		example = "stoke.scheduler.mode=FAIR\n"
	}
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		settings, given := r.URL.Query()["conf"]
		text := example
		if given {
			text = strings.Join(settings, "\n")
		}
		entries, err := parseReplaySettings(text)
		status := http.StatusOK
		if err != nil {
			status = http.StatusBadRequest
		}
		var form bytes.Buffer
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		_ = replayForm.Execute(&form, struct{ Settings, Error string }{text, msg})

		mu.Lock()
		defer mu.Unlock()
		var results []*simulate.Result
		sets := []struct {
			name    string
			entries []conf.Entry
		}{{"as recorded", nil}}
		if given && err == nil && len(entries) > 0 {
			sets = append(sets, struct {
				name    string
				entries []conf.Entry
			}{"with these settings", entries})
		}
		for _, s := range sets {
			cfg, cerr := simulate.NewConfig(w, s.name, s.entries)
			if cerr == nil {
				var res *simulate.Result
				if res, cerr = simulate.Run(w, cfg, simulate.Options{Seed: 1}); cerr == nil {
					results = append(results, res)
					continue
				}
			}
			status = http.StatusBadRequest
			form.Reset()
			_ = replayForm.Execute(&form, struct{ Settings, Error string }{text, cerr.Error()})
		}
		rep := simulate.NewReport(w, 1, results)
		rep.Intro = template.HTML(form.String()) // rendered by html/template above
		var page bytes.Buffer
		if err := rep.WriteHTML(&page); err != nil {
			http.Error(rw, "internal error rendering the replay", http.StatusInternalServerError)
			return
		}
		rw.Header().Set("Content-Type", "text/html; charset=utf-8")
		rw.Header().Set("X-Content-Type-Options", "nosniff")
		rw.WriteHeader(status)
		_, _ = rw.Write(page.Bytes())
	})
}

// parseReplaySettings reads key=value lines (blank lines and # comments
// skipped). A page may not name files on the server: the allocation file
// key is refused (the pool keys change pools instead).
func parseReplaySettings(text string) ([]conf.Entry, error) {
	if len(text) > maxReplaySettings {
		return nil, fmt.Errorf("the settings are %d bytes; at most %d are accepted", len(text), maxReplaySettings)
	}
	var out []conf.Entry
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	if len(lines) > maxReplayLines {
		return nil, fmt.Errorf("%d lines of settings; at most %d are accepted", len(lines), maxReplayLines)
	}
	for i, line := range lines {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" {
			return nil, fmt.Errorf("line %d: %q is not key=value", i+1, line)
		}
		if k == "stoke.scheduler.allocation.file" {
			return nil, fmt.Errorf("line %d: stoke.scheduler.allocation.file cannot be set from a page (it would read a file of the server); change pools with %s<pool>.weight, .minShare and .schedulingMode", i+1, simulate.PoolKeyPrefix)
		}
		out = append(out, conf.Entry{Key: k, Value: v, Source: conf.SourceConfFlag})
	}
	return out, nil
}

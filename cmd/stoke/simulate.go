package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/internal/eventlog"
	"github.com/stoke-run/stoke/internal/fsx"
	"github.com/stoke-run/stoke/internal/simulate"
)

func init() { addCommand(newSimulateCmd) }

// stoke simulate replays a workload through the scheduler under other
// settings.
func newSimulateCmd(a *app) *cobra.Command {
	var (
		confs   []string
		configs []string
		format  string
		output  string
		seed    uint64
		trace   bool
		chain   time.Duration
	)
	cmd := &cobra.Command{
		Use:   "simulate <event-log.jsonl | spec.json>",
		Short: "Replay a workload through the real scheduler under other settings, in virtual time",
		Long: `Replay a workload through Stoke's scheduling core in virtual time and compare
configurations side by side.

The workload is an application's event log (any file not ending in .json) or
a JSON spec (a file ending in .json; see docs/simulate.md). It is replayed
first under its own configuration (the one recorded in the log, or the
spec's "conf"), then under each --config properties file, then under the
--conf settings taken together, if any.

Keys: stoke.scheduler.mode, stoke.scheduler.allocation.file,
stoke.scheduler.pool, stoke.speculation, stoke.speculation.*,
stoke.locality.wait, stoke.task.cpus, stoke.task.maxFailures,
stoke.excludeOnFailure.*, stoke.executor.instances (or "executors"),
stoke.executor.cores, and stoke.simulate.pool.<pool>.weight|minShare|schedulingMode
to change one pool of the allocation in force.`,
		Example: `  stoke simulate app-42.jsonl --conf stoke.simulate.pool.adhoc.weight=3
  stoke simulate app-42.jsonl --config fair.conf --config fair-spec.conf --format html -o report.html
  stoke simulate workload.json --conf stoke.scheduler.mode=FAIR --format json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch format {
			case "text", "json", "html":
			default:
				return usageError{err: fmt.Errorf("--format must be text, json or html, got %q", format), cmd: cmd.CommandPath()}
			}
			seedSet := cmd.Flags().Changed("seed")
			w, err := loadWorkload(a, args[0], seed, seedSet)
			if err != nil {
				return err
			}
			if chain > 0 {
				n := simulate.ChainJobs(w, chain)
				fmt.Fprintf(a.stderr, "stoke: %d jobs wait for the job that ended at most %v before they were submitted\n", n, chain)
			}
			type named struct {
				name    string
				entries []conf.Entry
			}
			sets := []named{{name: "as recorded"}}
			if strings.HasSuffix(args[0], ".json") {
				sets[0].name = "as specified"
			}
			for _, path := range configs {
				es, err := conf.LoadProperties(path)
				if err != nil {
					return err
				}
				sets = append(sets, named{name: filepath.Base(path), entries: es})
			}
			if len(confs) > 0 {
				var es []conf.Entry
				for _, kv := range confs {
					k, v, ok := strings.Cut(kv, "=")
					if !ok || strings.TrimSpace(k) == "" {
						return usageError{err: fmt.Errorf("--conf %q: want key=value", kv), cmd: cmd.CommandPath()}
					}
					es = append(es, conf.Entry{Key: strings.TrimSpace(k), Value: strings.TrimSpace(v), Source: conf.SourceConfFlag})
				}
				sets = append(sets, named{name: strings.Join(confs, " "), entries: es})
			}
			var results []*simulate.Result
			for _, s := range sets {
				cfg, err := simulate.NewConfig(w, s.name, s.entries)
				if err != nil {
					return err
				}
				res, err := simulate.Run(w, cfg, simulate.Options{Seed: seed, Trace: trace})
				if err != nil {
					return err
				}
				results = append(results, res)
			}
			rep := simulate.NewReport(w, seed, results)
			out := a.stdout
			if output != "" {
				f, err := os.Create(output)
				if err != nil {
					return err
				}
				defer f.Close()
				out = f
			}
			switch format {
			case "json":
				err = rep.WriteJSON(out)
			case "html":
				err = rep.WriteHTML(out)
			default:
				err = rep.WriteText(out)
			}
			if err != nil {
				return err
			}
			if f, ok := out.(*os.File); ok && output != "" {
				return f.Close()
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&confs, "conf", nil, "a key=value setting; all --conf settings together form one configuration (repeatable)")
	cmd.Flags().StringArrayVar(&configs, "config", nil, "a properties file (key value per line) forming one configuration (repeatable)")
	cmd.Flags().StringVar(&format, "format", "text", "report format: text, json or html (self-contained)")
	cmd.Flags().StringVarP(&output, "output", "o", "", "write the report to this file instead of standard output")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "seed of the random draws (spec durations, injected failures): one seed, one answer")
	cmd.Flags().BoolVar(&trace, "trace", false, "include every launch in the JSON report")
	cmd.Flags().DurationVar(&chain, "chain-jobs", 0, "in an event log, a job submitted within this time after another job ended waits for it in the replay (e.g. 50ms; 0: jobs arrive when they did)")
	return cmd
}

// loadWorkload reads a spec (*.json) or an event log (anything else).
func loadWorkload(a *app, path string, seed uint64, seedSet bool) (*simulate.Workload, error) {
	if strings.HasSuffix(path, ".json") {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		spec, err := simulate.ParseSpec(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		var sp *uint64
		if seedSet {
			sp = &seed
		}
		return spec.Build(filepath.Base(path), sp)
	}
	fs, err := fsx.For(path)
	if err != nil {
		return nil, err
	}
	// A plain, compressed (.zst) or rolling (<appId>.rolling/) log.
	text, err := eventlog.Open(fs, path)
	if err != nil {
		return nil, err
	}
	defer text.Close()
	// A damaged compressed stream ends the text where the damage starts:
	// the events before it are replayed, with a warning.
	dr := &damageReader{r: text}
	w, err := simulate.FromEventLog(dr, filepath.Base(filepath.Clean(path)))
	if dr.err != nil && (err == nil || eventlog.Partial(err)) && w != nil {
		fmt.Fprintf(a.stderr, "stoke: warning: %s: %v; replaying the events before it\n", path, dr.err)
		return w, nil
	}
	if eventlog.Partial(err) && w != nil {
		fmt.Fprintf(a.stderr, "stoke: warning: %v; replaying the events before it\n", err)
		return w, nil
	}
	return w, err
}

// damageReader turns a damaged compressed stream's error into the end of
// the text, keeping the error.
type damageReader struct {
	r   io.Reader
	err error
}

func (d *damageReader) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	if err != nil && errors.Is(err, eventlog.ErrDamaged) {
		d.err = err
		return n, io.EOF
	}
	return n, err
}

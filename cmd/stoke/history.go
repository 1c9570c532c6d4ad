package main

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/internal/eventlog"
	"github.com/stoke-run/stoke/internal/fsx"
	"github.com/stoke-run/stoke/internal/history"
	"github.com/stoke-run/stoke/internal/simulate"
	"github.com/stoke-run/stoke/internal/ui"
)

func init() { addCommand(newHistoryCmd) }

// stoke history serves the UI of a finished application from its event log.
func newHistoryCmd(a *app) *cobra.Command {
	var host string
	var port int
	cmd := &cobra.Command{
		Use:   "history <event-log.jsonl | event-log-directory>",
		Short: "Serve the web UI of a finished application from its event log (a directory: see history-server)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if fi, err := os.Stat(args[0]); err == nil && fi.IsDir() && !eventlog.IsRolling(filepath.Base(filepath.Clean(args[0]))) {
				// A directory of logs: the history server's list.
				c := conf.New()
				c.Set(history.KeyLogDirectory, args[0], conf.SourceConfFlag)
				return runHistoryServer(cmd, a, c, host, port)
			}
			store, err := ui.ServeHistory(args[0])
			if eventlog.Partial(err) {
				fmt.Fprintf(a.stderr, "stoke: warning: %v; showing the events before it\n", err)
			} else if err != nil {
				return err
			}
			log := logrus.New()
			log.SetOutput(a.stderr)
			var opts []ui.Option
			if w := historyWorkload(args[0]); w != nil {
				opts = append(opts, ui.WithReplay(replayHandler(w)))
			}
			srv, err := ui.Start(host, port, 16, store, log, opts...)
			if err != nil {
				return err
			}
			defer srv.Close()
			fmt.Fprintf(a.stdout, "serving %s at %s (Ctrl-C stops)\n", args[0], srv.URL())
			sig := make(chan os.Signal, 1)
			signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
			<-sig
			return nil
		},
	}
	cmd.Flags().StringVar(&host, "host", "127.0.0.1", "address to listen on")
	cmd.Flags().IntVar(&port, "port", 18080, "port to listen on (the next free one if taken)")
	return cmd
}

// historyWorkload reads the log as a workload for the "replay with other
// settings" page, or returns nil when it cannot be replayed (no jobs, no
// executors): the page is then not offered.
func historyWorkload(path string) *simulate.Workload {
	fs, err := fsx.For(path)
	if err != nil {
		return nil
	}
	text, err := eventlog.Open(fs, path)
	if err != nil {
		return nil
	}
	defer text.Close()
	w, err := simulate.FromEventLog(&damageReader{r: text}, filepath.Base(path))
	if err != nil && !eventlog.Partial(err) {
		return nil
	}
	return w
}

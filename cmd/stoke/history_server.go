package main

import (
	"fmt"
	"io"
	"net"
	"net/http"

	"github.com/spf13/cobra"

	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/internal/eventlog"
	"github.com/stoke-run/stoke/internal/fsx"
	"github.com/stoke-run/stoke/internal/hadoop/krb"
	"github.com/stoke-run/stoke/internal/history"
	"github.com/stoke-run/stoke/internal/simulate"
)

func init() { addCommand(newHistoryServerCmd) }

// stoke history-server serves the applications of an event log directory.
func newHistoryServerCmd(a *app) *cobra.Command {
	var df daemonFlags
	var host string
	var port int
	cmd := &cobra.Command{
		Use:   "history-server [LOG-DIRECTORY]",
		Short: "Serve the web UIs of the applications whose event logs are in a directory (port 18080)",
		Long: `History-server lists the applications whose event logs are in a directory
(stoke.history.fs.logDirectory, or the argument: a local path or hdfs://), complete
and incomplete (still running, or stopped without writing their end), and serves each
one's web UI rebuilt from its log under /history/<appId>/, and the list as JSON at
/api/v1/applications. It rescans the directory every stoke.history.fs.update.interval
(a running application's UI shows its new jobs) and, with
stoke.history.fs.cleaner.enabled, deletes logs older than stoke.history.fs.cleaner.maxAge.
Plain (.jsonl), zstd-compressed (.jsonl.zst) and rolling (<appId>.rolling/) logs are read. Applications write their
logs there with stoke.eventLog.enabled=true and stoke.eventLog.dir set to the directory.`,
		Example: "  stoke history-server /tmp/stoke-events\n" +
			"  stoke history-server --conf stoke.history.fs.logDirectory=hdfs://namenode:8020/stoke-events --port 18080",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				df.confs = append(df.confs, history.KeyLogDirectory+"="+args[0])
			}
			c, err := df.resolve(a)
			if err != nil {
				return err
			}
			if !cmd.Flags().Changed("port") {
				if port, err = c.Int(history.KeyUIPort); err != nil {
					return err
				}
			}
			return runHistoryServer(cmd, a, c, host, port)
		},
	}
	df.define(cmd.Flags())
	cmd.Flags().StringVar(&host, "host", "0.0.0.0", "address to listen on")
	cmd.Flags().IntVar(&port, "port", 18080, "port of the web UI, the next free one if taken (default "+history.KeyUIPort+")")
	return cmd
}

func runHistoryServer(cmd *cobra.Command, a *app, c *conf.Conf, host string, port int) error {
	opts, err := history.OptionsFromConf(c)
	if err != nil {
		return err
	}
	// A Kerberos HDFS: a keytab login (gokrb5 renews its ticket), else
	// the ticket cache.
	if p, kt := c.String("stoke.kerberos.principal"), c.String("stoke.kerberos.keytab"); p != "" || kt != "" {
		if p == "" || kt == "" {
			return fmt.Errorf("stoke.kerberos.principal and stoke.kerberos.keytab go together; without both, the ticket cache (KRB5CCNAME) is used")
		}
		fsx.UseKerberos(krb.LoginOptions{Principal: p, Keytab: kt})
	}
	log := daemonLog(a, c)
	opts.Log = log
	opts.Replay = historyReplay
	srv, err := history.New(opts)
	if err != nil {
		return err
	}
	retries, _ := c.Int("stoke.port.maxRetries")
	addr, err := srv.Listen(host, port, retries)
	if err != nil {
		return err
	}
	defer srv.Shutdown()
	srv.Run()
	fmt.Fprintf(a.stdout, "stoke history server for %s at http://%s (Ctrl-C stops)\n", opts.LogDir, displayAddr(addr))
	untilSignal(cmd.Context())
	return nil
}

// historyReplay builds the "replay with other settings" page of a log, or
// nil when it cannot be replayed.
func historyReplay(text io.Reader, name string) http.Handler {
	w, err := simulate.FromEventLog(&damageReader{r: text}, name)
	if err != nil && !eventlog.Partial(err) {
		return nil
	}
	if w == nil {
		return nil
	}
	return replayHandler(w)
}

// displayAddr shows an address listened on as a browser can use it: an
// unspecified host becomes the loopback address.
func displayAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

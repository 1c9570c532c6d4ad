package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/mesos"
	"github.com/stoke-run/stoke/standalone"
)

func init() {
	addCommand(newMesosDispatcherCmd)
	clusterSubmitters[conf.Mesos] = submitMesosCluster
}

// stoke mesos-dispatcher runs drivers as Mesos tasks (cluster deploy mode).
func newMesosDispatcherCmd(a *app) *cobra.Command {
	var df daemonFlags
	var master, host, workDir string
	var port int
	var insecure bool
	var backoff, maxBackoff time.Duration
	cmd := &cobra.Command{
		Use:   "mesos-dispatcher",
		Short: "Run drivers of cluster-mode applications as Mesos tasks (port 7077)",
		Long: `The Mesos dispatcher is a Mesos framework that accepts cluster-mode submissions
(stoke submit --master mesos://DISPATCHER:7077 --deploy-mode cluster) and runs each
application's driver as a Mesos task on the cluster named by --master; the driver
then runs its executors as a framework of its own. With --supervise a driver that
fails is launched again, after a backoff doubling from --retry-backoff up to
--max-retry-backoff. Submissions are authenticated with stoke.authenticate.secret
(or the file named by stoke.authenticate.secret.file); listening beyond loopback
without one needs --insecure. stoke.mesos.principal and .secret authenticate the
dispatcher to Mesos.`,
		Example: "  stoke mesos-dispatcher --master mesos://zk://zk1:2181/mesos --port 7077 --work-dir /var/lib/stoke-dispatcher",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := df.resolve(a)
			if err != nil {
				return err
			}
			df.warnSecretOnCommandLine(a, "the dispatcher's secret", "set "+standalone.KeySecretFile+" to a file of mode 0600 (in a --properties-file) instead")
			if master == "" {
				return fmt.Errorf("--master mesos://HOST:5050 (or mesos://zk://...) is required")
			}
			secret, err := dispatcherSecret(c)
			if err != nil {
				return err
			}
			maxBinary, err := c.Bytes("stoke.deploy.maxBinarySize")
			if err != nil {
				return err
			}
			retained, err := c.Int("stoke.deploy.retainedDrivers")
			if err != nil {
				return err
			}
			if workDir == "" {
				// A temporary directory lasts as long as this dispatcher.
				if workDir, err = os.MkdirTemp("", "stoke-dispatcher-"); err != nil {
					return err
				}
				defer os.RemoveAll(workDir)
			}
			d, err := mesos.StartDispatcher(cmd.Context(), mesos.DispatcherOptions{
				Master: master, Host: host, Port: port, WorkDir: workDir, Secret: secret, Insecure: insecure, MaxBinarySize: maxBinary, RetainedDrivers: retained,
				RetryBackoff: backoff, MaxBackoff: maxBackoff, Conf: c, Log: daemonLog(a, c),
			})
			if err != nil {
				return err
			}
			defer d.Stop()
			fmt.Fprintf(a.stdout, "stoke mesos-dispatcher at mesos://%s (framework %s on %s)\n", d.Address(), d.FrameworkID(), master)
			untilSignal(cmd.Context())
			return nil
		},
	}
	df.define(cmd.Flags())
	cmd.Flags().StringVar(&master, "master", os.Getenv("STOKE_MESOS_MASTER"), "Mesos master the drivers run on: mesos://host:5050 or mesos://zk://host:2181/mesos")
	cmd.Flags().StringVar(&host, "host", envDefault("STOKE_DISPATCHER_HOST", ""), "address to listen on, reachable by agents (default: the address routing to the master)")
	cmd.Flags().IntVar(&port, "port", envInt("STOKE_DISPATCHER_PORT", 7077), "port for submissions")
	cmd.Flags().StringVar(&workDir, "work-dir", envDefault("STOKE_DISPATCHER_DIR", ""), "directory for submitted binaries (default: a temporary one)")
	cmd.Flags().BoolVar(&insecure, "insecure", false, "accept submissions without a secret even when listening beyond loopback: anyone who reaches the port runs code on the cluster")
	cmd.Flags().DurationVar(&backoff, "retry-backoff", time.Second, "first wait before a supervised driver is relaunched")
	cmd.Flags().DurationVar(&maxBackoff, "max-retry-backoff", time.Minute, "longest wait between relaunches")
	return cmd
}

// submitMesosCluster uploads the binary to the dispatcher named by the
// master URL (mesos://DISPATCHER:7077) and prints the submission id.
func submitMesosCluster(ctx context.Context, req clusterRequest) (int, error) {
	c := req.Conf
	if len(req.Master.Hosts) != 1 || req.Master.ZooKeeper != "" {
		return 0, fmt.Errorf("cluster deploy mode on Mesos submits to a dispatcher: --master mesos://DISPATCHER:7077 (stoke mesos-dispatcher), not %q", req.Master.Raw)
	}
	d, err := driverSettings(c)
	if err != nil {
		return 0, err
	}
	secret, err := dispatcherSecret(c)
	if err != nil {
		return 0, err
	}
	cl := &mesos.DispatcherClient{Addr: req.Master.Hosts[0], Secret: secret}
	st, err := cl.Submit(ctx, req.Binary, mesos.DriverSubmission{Args: req.Args, Conf: req.HandOff(), CPUs: float64(d.cores), MemMB: float64(d.memory>>20) + 384, Supervise: d.supervise})
	if err != nil {
		return 0, err
	}
	fmt.Fprintf(req.Stdout, "submitted driver %s (state %s)\n", st.ID, st.State)
	fmt.Fprintf(req.Stderr, "stoke: follow it with: stoke submit --master %s --status %s\n", req.Master.Raw, st.ID)
	return 0, nil
}

// dispatcherSecret is the dispatcher's submission secret:
// stoke.authenticate.secret, else the file stoke.authenticate.secret.file
// names, else none.
func dispatcherSecret(c *conf.Conf) (string, error) {
	if s := c.String(standalone.KeySecret); s != "" {
		return s, nil
	}
	if f := c.String(standalone.KeySecretFile); f != "" {
		return standalone.ReadSecretFile(f)
	}
	return "", nil
}

// mesosDriverRequest answers --status and --kill against a dispatcher.
func mesosDriverRequest(ctx context.Context, out io.Writer, m conf.Master, secret string, o *submitOptions) error {
	if len(m.Hosts) != 1 || m.ZooKeeper != "" {
		return fmt.Errorf("--status and --kill on Mesos ask a dispatcher: --master mesos://DISPATCHER:7077, not %q", m.Raw)
	}
	cl := &mesos.DispatcherClient{Addr: m.Hosts[0], Secret: secret}
	var st mesos.DriverStatus
	var err error
	switch {
	case o.status != "" && o.kill != "":
		return fmt.Errorf("give --status or --kill, not both")
	case o.status != "":
		st, err = cl.Status(ctx, o.status)
	default:
		st, err = cl.Kill(ctx, o.kill)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "driver %s: %s, restarts %d", st.ID, st.State, st.Restarts)
	if st.Message != "" {
		fmt.Fprintf(out, " (%s)", st.Message)
	}
	fmt.Fprintln(out)
	return nil
}

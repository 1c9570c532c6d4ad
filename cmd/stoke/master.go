package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/stoke-run/stoke/standalone"
)

func init() { addCommand(newMasterCmd) }

// stoke master runs a standalone cluster master.
func newMasterCmd(a *app) *cobra.Command {
	var df daemonFlags
	var sf secretFlags
	var host, workDir string
	var port, uiPort int
	cmd := &cobra.Command{
		Use:   "master",
		Short: "Run a standalone cluster master (port 7077, web UI 8080)",
		Long: `Master runs the standalone cluster's master: workers register with it, drivers
(--master stoke://host:7077) register their applications, and it decides which
workers run which executors. Its web UI lists workers, applications and drivers;
/json has the same state. High availability: several masters with
stoke.deploy.recoveryMode=ZOOKEEPER, or one master with FILESYSTEM recovery.
Security: beyond loopback the master requires a cluster secret from workers,
drivers and submitters: --secret-file, or the file it creates on first start
($STOKE_CONF_DIR/cluster.secret, else ~/.stoke/cluster.secret, mode 0600).
It refuses to run open unless --insecure is given.
Environment: STOKE_MASTER_HOST, STOKE_MASTER_PORT, STOKE_MASTER_WEBUI_PORT, STOKE_MASTER_DIR.`,
		Example: "  stoke master --host 0.0.0.0 --port 7077 --webui-port 8080   # creates ~/.stoke/cluster.secret on first start\n" +
			"  stoke master --conf stoke.deploy.recoveryMode=FILESYSTEM --conf stoke.deploy.recoveryDirectory=/var/lib/stoke",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := df.resolve(a)
			if err != nil {
				return err
			}
			opts, err := standalone.MasterOptionsFromConf(c)
			if err != nil {
				return err
			}
			opts.Host, opts.Port, opts.WorkDir = host, port, workDir
			if cmd.Flags().Changed("webui-port") || !isSet(c, "stoke.master.ui.port") {
				opts.WebUIPort = uiPort
			}
			log := daemonLog(a, c)
			opts.Log = log
			df.warnSecretOnCommandLine(a, "the cluster secret", daemonSecretAdvice)
			if opts.Secret, opts.SecretFile, err = sf.masterSecret(c, host, log); err != nil {
				return err
			}
			opts.Insecure = sf.insecure
			m, err := standalone.StartMaster(opts)
			if err != nil {
				return err
			}
			defer m.Stop()
			fmt.Fprintf(a.stdout, "stoke master at stoke://%s, web UI http://%s\n", usableAddr(m.Addr()), usableAddr(m.UIAddr()))
			untilSignal(cmd.Context())
			return nil
		},
	}
	df.define(cmd.Flags())
	sf.define(cmd.Flags())
	cmd.Flags().StringVar(&host, "host", envDefault("STOKE_MASTER_HOST", "0.0.0.0"), "address to listen on")
	cmd.Flags().IntVar(&port, "port", envInt("STOKE_MASTER_PORT", 7077), "port for workers and drivers")
	cmd.Flags().StringVar(&workDir, "work-dir", envDefault("STOKE_MASTER_DIR", ""), "directory for binaries uploaded in cluster deploy mode (default: the recovery directory with FILESYSTEM recovery, else a temporary one)")
	cmd.Flags().IntVar(&uiPort, "webui-port", envInt("STOKE_MASTER_WEBUI_PORT", 8080), "port of the web UI (-1: none)")
	return cmd
}

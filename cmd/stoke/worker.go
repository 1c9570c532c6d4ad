package main

import (
	"fmt"
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/standalone"
)

func init() { addCommand(newWorkerCmd) }

func isSet(c *conf.Conf, key string) bool { _, ok := c.Get(key); return ok }

// stoke worker runs a standalone cluster worker.
func newWorkerCmd(a *app) *cobra.Command {
	var df daemonFlags
	var sf secretFlags
	var host, memory, workDir string
	var cores, port, uiPort int
	cmd := &cobra.Command{
		Use:   "worker stoke://master:7077[,master2:7077]",
		Short: "Run a standalone cluster worker (web UI 8081)",
		Long: `Worker offers this machine's cores and memory to the standalone master, fetches
application binaries (verified by SHA-256, cached in the work directory) and
runs executors and cluster-mode drivers as processes, each with its own
directory and stdout/stderr logs under --work-dir.
Environment: STOKE_WORKER_CORES, STOKE_WORKER_MEMORY, STOKE_WORKER_DIR,
STOKE_WORKER_HOST, STOKE_WORKER_PORT, STOKE_WORKER_WEBUI_PORT.`,
		Example: "  stoke worker stoke://10.0.0.1:7077 --cores 8 --memory 16g --work-dir /var/lib/stoke/work",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := conf.ParseMaster(args[0])
			if err != nil {
				return err
			}
			if m.Kind != conf.Standalone {
				return fmt.Errorf("a worker joins a standalone master (stoke://host:7077), not %q", args[0])
			}
			c, err := df.resolve(a)
			if err != nil {
				return err
			}
			mem, err := parseMiB(memory)
			if err != nil {
				return fmt.Errorf("--memory: %w", err)
			}
			if cmd.Flags().Changed("port") || port != 0 {
				uiPort = port
			}
			df.warnSecretOnCommandLine(a, "the cluster secret", daemonSecretAdvice)
			secret, err := sf.workerSecret(c)
			if err != nil {
				return err
			}
			wo := standalone.WorkerOptions{Masters: m.Hosts, Host: host, Cores: cores, MemoryMiB: mem,
				WorkDir: workDir, WebUIPort: uiPort, Secret: secret, Insecure: sf.insecure, Log: daemonLog(a, c)}
			if err := standalone.WorkerBoundsFromConf(c, &wo); err != nil {
				return err
			}
			w, err := standalone.StartWorker(wo)
			if err != nil {
				return err
			}
			defer w.Stop()
			fmt.Fprintf(a.stdout, "stoke worker %s for %s: %d cores, %d MiB, web UI http://%s\n", w.ID(), strings.Join(m.Hosts, ","), cores, mem, usableAddr(w.UIAddr()))
			untilSignal(cmd.Context())
			return nil
		},
	}
	df.define(cmd.Flags())
	sf.define(cmd.Flags())
	cmd.Flags().StringVar(&host, "host", envDefault("STOKE_WORKER_HOST", ""), "address to advertise and listen on (default: the one that reaches the master)")
	cmd.Flags().IntVar(&cores, "cores", envInt("STOKE_WORKER_CORES", runtime.NumCPU()), "cores to offer")
	cmd.Flags().StringVar(&memory, "memory", envDefault("STOKE_WORKER_MEMORY", defaultWorkerMemory()), "memory to offer, e.g. 4g or 4096 (MiB)")
	cmd.Flags().StringVar(&workDir, "work-dir", envDefault("STOKE_WORKER_DIR", "work"), "directory for executors' work directories, logs and the binary cache")
	cmd.Flags().IntVar(&port, "port", envInt("STOKE_WORKER_PORT", 0), "port of the worker's HTTP service (logs, /json); the worker needs no other inbound port: it dials the master. Overrides --webui-port")
	cmd.Flags().IntVar(&uiPort, "webui-port", envInt("STOKE_WORKER_WEBUI_PORT", 8081), "port of the web UI and executor logs (-1: none)")
	return cmd
}

// defaultWorkerMemory is the machine's memory less 1 GiB (at least 1 GiB).
func defaultWorkerMemory() string {
	total, err := standalone.MachineMemoryMiB()
	if err != nil {
		return "1g"
	}
	return fmt.Sprintf("%dm", max(1024, total-1024))
}

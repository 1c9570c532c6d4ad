package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/internal/fsx"
	"github.com/stoke-run/stoke/internal/hadoop/krb"
	"github.com/stoke-run/stoke/yarn"
)

func init() { addCommand(newLogsCmd) }

// stoke logs prints a YARN application's aggregated container logs.
func newLogsCmd(a *app) *cobra.Command {
	var df daemonFlags
	var req yarn.LogsRequest
	var size, principal, keytab string
	cmd := &cobra.Command{
		Use:   "logs APPLICATION_ID",
		Short: "Print a finished YARN application's aggregated container logs (like yarn logs -applicationId)",
		Long: `Logs prints the container logs the NodeManagers aggregated to the remote log
directory on HDFS when a YARN application ended (yarn.log-aggregation-enable), in
either format Hadoop writes: TFile (the default) and IndexedFormat. The cluster is the
one of HADOOP_CONF_DIR (or YARN_CONF_DIR); on a Kerberos cluster the login is
--principal/--keytab (stoke.kerberos.principal and .keytab), else the ticket cache.`,
		Example: "  stoke logs application_1733300000000_0007\n" +
			"  stoke logs application_1733300000000_0007 --container container_1733300000000_0007_01_000002 --log-files stderr",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.AppID = strings.TrimSpace(args[0])
			if _, err := yarn.ParseAppID(req.AppID); err != nil {
				return usageError{err: err, cmd: cmd.CommandPath()}
			}
			if size != "" {
				neg := strings.HasPrefix(size, "-")
				n, err := conf.ParseBytes(strings.TrimPrefix(size, "-"), "b")
				if err != nil {
					return usageError{err: fmt.Errorf("--size-limit %q: %v", size, err), cmd: cmd.CommandPath()}
				}
				if neg {
					n = -n
				}
				req.SizeLimit = n
			}
			if principal != "" {
				df.confs = append(df.confs, "stoke.kerberos.principal="+principal)
			}
			if keytab != "" {
				df.confs = append(df.confs, "stoke.kerberos.keytab="+keytab)
			}
			c, err := df.resolve(a)
			if err != nil {
				return err
			}
			if p, kt := c.String("stoke.kerberos.principal"), c.String("stoke.kerberos.keytab"); p != "" || kt != "" {
				if p == "" || kt == "" {
					return fmt.Errorf("stoke.kerberos.principal and stoke.kerberos.keytab go together; without both, the ticket cache (KRB5CCNAME) is used")
				}
				fsx.UseKerberos(krb.LoginOptions{Principal: p, Keytab: kt})
			}
			yc, err := yarn.NewClient(daemonLog(a, c))
			if err != nil {
				return err
			}
			defer yc.Close()
			return yc.Logs(cmd.Context(), req, a.stdout)
		},
	}
	df.define(cmd.Flags())
	f := cmd.Flags()
	f.StringVar(&req.Container, "container", "", "only the logs of container `ID`")
	f.StringVar(&req.Node, "node", "", "only the logs aggregated by NodeManager `HOST[:PORT]`")
	f.StringSliceVar(&req.LogFiles, "log-files", nil, "only the log files named `NAMES` (comma-separated, e.g. stderr)")
	f.StringVar(&size, "size-limit", "", "print the first `SIZE` bytes of each log (e.g. 4k), or the last with a leading -")
	f.StringVar(&req.Owner, "app-owner", "", "the application's `USER` when the ResourceManager no longer knows it")
	f.StringVar(&principal, "principal", "", "Kerberos `PRINCIPAL` to log in as, with --keytab [stoke.kerberos.principal]")
	f.StringVar(&keytab, "keytab", "", "keytab `FILE` of --principal [stoke.kerberos.keytab]")
	return cmd
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/standalone"
	"github.com/stoke-run/stoke/yarn"
)

func init() { clusterSubmitters[conf.Standalone] = submitStandaloneCluster }

// submitStandaloneCluster uploads the binary to the leading master, which
// starts the driver on a worker (restarting it on failure with
// --supervise). It prints the submission id for --status and --kill.
func submitStandaloneCluster(ctx context.Context, req clusterRequest) (int, error) {
	c := req.Conf
	d, err := driverSettings(c)
	if err != nil {
		return 0, err
	}
	secret, _, err := standalone.ClientSecret(c)
	if err != nil {
		return 0, err
	}
	// The driver gets no secret from here: the worker hands it the cluster
	// secret through a 0600 file, and the application makes its own.
	env, _, err := standalone.StripSecrets(req.HandOff())
	if err != nil {
		return 0, err
	}
	client := standalone.NewSubmitClient(req.Master.Hosts, secret)
	st, err := client.Submit(ctx, req.Binary, standalone.DriverSubmission{Args: req.Args, SubmitEnv: env,
		Cores: d.cores, MemoryMiB: int(d.memory >> 20), Supervise: d.supervise})
	if err != nil {
		return 0, fmt.Errorf("submitting to %s: %w", req.Master.Raw, err)
	}
	fmt.Fprintf(req.Stdout, "submitted driver %s (state %s)\n", st.DriverID, st.State)
	fmt.Fprintf(req.Stderr, "stoke: follow it with: stoke submit --master %s --status %s\n", req.Master.Raw, st.DriverID)
	return 0, nil
}

// driverResources is what a cluster-mode driver asks its cluster manager for.
type driverResources struct {
	cores     int
	memory    int64 // bytes
	supervise bool
}

// driverSettings reads stoke.driver.cores, .memory and .supervise.
func driverSettings(c *conf.Conf) (driverResources, error) {
	var d driverResources
	var err error
	if d.cores, err = c.Int("stoke.driver.cores"); err != nil {
		return d, err
	}
	if d.memory, err = c.Bytes("stoke.driver.memory"); err != nil {
		return d, err
	}
	d.supervise, err = c.Bool("stoke.driver.supervise")
	return d, err
}

// driverRequest answers `stoke submit --status ID` and `--kill ID`.
func driverRequest(ctx context.Context, out io.Writer, o *submitOptions) error {
	c := conf.New()
	entries, _, err := conf.ReadPropertiesFile(o.propertiesFile)
	if err != nil {
		return err
	}
	for _, e := range entries {
		c.Set(e.Key, e.Value, e.Source)
	}
	for _, kv := range o.confs {
		k, v, err := parseConfFlag(kv)
		if err != nil {
			return err
		}
		c.Set(k, v, conf.SourceConfFlag)
	}
	if o.changed["master"] {
		c.Set("stoke.master", *o.values["master"], conf.SourceSubmit)
	}
	m, err := conf.ParseMaster(c.String("stoke.master"))
	if err != nil {
		return err
	}
	if m.Kind == conf.YARN {
		if o.changed["proxy-user"] {
			c.Set("stoke.yarn.proxyUser", *o.values["proxy-user"], conf.SourceSubmit)
		}
		proxy, err := yarn.RequestProxyUser(c)
		if err != nil {
			return err
		}
		return yarnRequest(ctx, out, o, proxy)
	}
	if m.Kind == conf.Mesos {
		secret, err := dispatcherSecret(c)
		if err != nil {
			return err
		}
		return mesosDriverRequest(ctx, out, m, secret, o)
	}
	if m.Kind != conf.Standalone {
		return fmt.Errorf("--status and --kill need a standalone master (--master stoke://host:7077), yarn or a Mesos dispatcher (mesos://host:7077), not %q", m.Raw)
	}
	secret, _, err := standalone.ClientSecret(c)
	if err != nil {
		return err
	}
	client := standalone.NewSubmitClient(m.Hosts, secret)
	var st standalone.DriverStatus
	switch {
	case o.status != "" && o.kill != "":
		return errors.New("give --status or --kill, not both")
	case o.status != "":
		st, err = client.Status(ctx, o.status)
	default:
		st, err = client.Kill(ctx, o.kill)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "driver %s: %s", st.DriverID, st.State)
	if st.WorkerID != "" {
		fmt.Fprintf(out, " on worker %s", st.WorkerID)
	}
	fmt.Fprintf(out, ", exit code %d, restarts %d", st.ExitCode, st.Restarts)
	if st.Reason != "" {
		fmt.Fprintf(out, " (%s)", st.Reason)
	}
	fmt.Fprintln(out)
	return nil
}

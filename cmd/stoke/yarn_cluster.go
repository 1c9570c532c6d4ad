package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/sirupsen/logrus"

	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/yarn"
)

func init() { clusterSubmitters[conf.YARN] = submitYARNCluster }

// submitYARNCluster stages the binary on HDFS and submits an application whose AM runs the
// driver; it follows the application to its end unless stoke.yarn.submit.waitAppCompletion
// is false.
func submitYARNCluster(ctx context.Context, req clusterRequest) (int, error) {
	log := logrus.New()
	log.SetOutput(req.Stderr)
	return yarn.SubmitCluster(ctx, &yarn.ClusterSubmission{
		Conf: req.Conf, HandOff: req.HandOff(), Binary: req.Binary, Args: req.Args, Out: req.Stdout, Log: log,
	})
}

// yarnRequest answers --status and --kill for YARN application ids, as
// stoke.yarn.proxyUser when set (--proxy-user): a gateway asks about, and
// kills, the applications it submitted for its users.
func yarnRequest(ctx context.Context, out io.Writer, o *submitOptions, proxyUser string) error {
	c, err := yarn.NewClientAs(nil, proxyUser)
	if err != nil {
		return err
	}
	defer c.Close()
	switch {
	case o.status != "" && o.kill != "":
		return errors.New("give --status or --kill, not both")
	case o.status != "":
		r, err := c.Report(ctx, o.status)
		if err != nil {
			return err
		}
		fmt.Fprintln(out, yarn.Describe(r))
		return nil
	default:
		if err := c.Kill(ctx, o.kill, "killed with stoke submit --kill"); err != nil {
			return err
		}
		fmt.Fprintf(out, "killed %s\n", o.kill)
		return nil
	}
}

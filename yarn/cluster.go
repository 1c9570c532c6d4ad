package yarn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/internal/fsx"
	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/yarnpb"
	"github.com/stoke-run/stoke/internal/hadoop/krb"
	"github.com/stoke-run/stoke/internal/rpc"
)

// ClusterSubmission is `stoke submit --master yarn --deploy-mode cluster`.
type ClusterSubmission struct {
	Conf    *conf.Conf
	HandOff string // STOKE_SUBMIT_CONF for the driver
	Binary  string
	Args    []string
	Out     io.Writer // state changes
	Log     logrus.FieldLogger
	// OnSubmitted, when set, hears the application id once YARN accepted the submission.
	OnSubmitted func(appID string)
}

// SubmitCluster stages and submits the application with the driver inside the AM. With
// stoke.yarn.submit.waitAppCompletion (the default) it follows the report, printing each
// state change, and returns 0 only when the application FINISHED with SUCCEEDED.
func SubmitCluster(ctx context.Context, cs *ClusterSubmission) (int, error) {
	proxy, err := clientSettings(cs.Conf)
	if err != nil {
		return 0, err
	}
	if p, kt := cs.Conf.String("stoke.kerberos.principal"), cs.Conf.String("stoke.kerberos.keytab"); p != "" && kt != "" {
		fsx.UseKerberos(krb.LoginOptions{Principal: p, Keytab: kt})
	}
	c, err := NewClientAs(cs.Log, proxy)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	s, err := submissionFromConf(cs.Conf, "cluster")
	if err != nil {
		return 0, err
	}
	s.Binary, s.Args, s.AMSecret = cs.Binary, cs.Args, rpc.NewSecret()
	s.Env = map[string]string{conf.SubmitConfEnv: cs.HandOff}
	appID, err := c.Submit(ctx, s)
	if err != nil {
		return 0, err
	}
	if cs.OnSubmitted != nil {
		cs.OnSubmitted(appID)
	}
	fmt.Fprintf(cs.Out, "submitted application %s to queue %s\n", appID, s.Queue)
	wait, err := cs.Conf.Bool("stoke.yarn.submit.waitAppCompletion")
	if err != nil || !wait {
		return 0, err
	}
	interval, err := cs.Conf.Duration("stoke.yarn.report.interval")
	if err != nil {
		return 0, err
	}
	warned := false
	r, err := c.Wait(ctx, appID, interval, nil, func(r *yarnpb.ApplicationReport) {
		fmt.Fprintf(cs.Out, "%s %s\n", time.Now().Format("15:04:05"), Describe(r))
		if w := PriorityCapped(s.Priority, r); w != "" && !warned {
			warned = true
			fmt.Fprintf(cs.Out, "warning: %s\n", w)
		}
	})
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return 0, fmt.Errorf("stopped following %s; it keeps running (stop it with stoke submit --master yarn --kill %s)", appID, appID)
		}
		return 0, err
	}
	c.Cleanup(s.StagingBase, appID)
	if r.GetYarnApplicationState() == yarnpb.YarnApplicationState_FINISHED && r.GetFinalApplicationStatus() == yarnpb.FinalApplicationStatus_APP_SUCCEEDED {
		return 0, nil
	}
	return 1, nil
}

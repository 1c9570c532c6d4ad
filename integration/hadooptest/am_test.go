package hadooptest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/stoke-run/stoke/integration/hadooptest"
	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/commonpb"
	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/yarnpb"
	"github.com/stoke-run/stoke/internal/hadoop/ipc"
	"github.com/stoke-run/stoke/internal/testutil"
)

// unmanagedAM submits an unmanaged-AM application, takes its AMRM token from the application
// report, and registers, heartbeats and unregisters on the scheduler port over SASL TOKEN
// (DIGEST-MD5): the path every Stoke application master takes. It returns the negotiated QOP.
func unmanagedAM(t *testing.T, c *hadooptest.Cluster) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testutil.D(2*time.Minute))
	defer cancel()
	rm, err := ipc.NewClient([]string{c.RM}, ipc.Config{Protocol: ipc.ApplicationClientProtocol})
	if err != nil {
		t.Fatal(err)
	}
	defer rm.Close()

	var na yarnpb.GetNewApplicationResponse
	if err := rm.Call(ctx, "getNewApplication", &yarnpb.GetNewApplicationRequest{}, &na); err != nil {
		t.Fatal(err)
	}
	appID := na.GetApplicationId()
	sub := &yarnpb.SubmitApplicationRequest{ApplicationSubmissionContext: &yarnpb.ApplicationSubmissionContext{
		ApplicationId:   appID,
		ApplicationName: proto.String("stoke-unmanaged-am-test"),
		Queue:           proto.String("default"),
		UnmanagedAm:     proto.Bool(true),
		AmContainerSpec: &yarnpb.ContainerLaunchContext{},
		Resource:        &yarnpb.Resource{Memory: proto.Int64(128), VirtualCores: proto.Int32(1)},
		ApplicationType: proto.String("STOKE"),
		MaxAppAttempts:  proto.Int32(1),
	}}
	if err := rm.Call(ctx, "submitApplication", sub, &yarnpb.SubmitApplicationResponse{}); err != nil {
		t.Fatal(err)
	}
	report := func() *yarnpb.ApplicationReport {
		var r yarnpb.GetApplicationReportResponse
		if err := rm.Call(ctx, "getApplicationReport", &yarnpb.GetApplicationReportRequest{ApplicationId: appID}, &r); err != nil {
			t.Fatal(err)
		}
		return r.GetApplicationReport()
	}
	var amrm *commonpb.Token
	for amrm == nil {
		r := report()
		switch r.GetYarnApplicationState() {
		case yarnpb.YarnApplicationState_FAILED, yarnpb.YarnApplicationState_KILLED, yarnpb.YarnApplicationState_FINISHED:
			t.Fatalf("application ended %v before the AM registered: %s", r.GetYarnApplicationState(), r.GetDiagnostics())
		}
		if amrm = r.GetAmRmToken(); amrm == nil {
			if ctx.Err() != nil {
				t.Fatalf("no AMRM token in the report of the unmanaged AM (state %v)", r.GetYarnApplicationState())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if amrm.GetKind() != "YARN_AM_RM_TOKEN" {
		t.Fatalf("token kind %q", amrm.GetKind())
	}

	auth := &ipc.TokenAuth{Tokens: []*commonpb.Token{amrm}, Kind: "YARN_AM_RM_TOKEN", AnyService: true}
	am, err := ipc.NewClient([]string{c.Scheduler}, ipc.Config{Protocol: ipc.ApplicationMasterProtocol, Auth: []ipc.Authenticator{auth}})
	if err != nil {
		t.Fatal(err)
	}
	defer am.Close()
	var reg yarnpb.RegisterApplicationMasterResponse
	if err := am.Call(ctx, "registerApplicationMaster", &yarnpb.RegisterApplicationMasterRequest{
		Host: proto.String("localhost"), RpcPort: proto.Int32(0), TrackingUrl: proto.String(""),
	}, &reg); err != nil {
		t.Fatal(err)
	}
	method, qop := am.Security()
	if method != ipc.MethodToken {
		t.Fatalf("scheduler connection authenticated with %s, want TOKEN", method)
	}
	if reg.GetMaximumCapability().GetMemory() <= 0 || !strings.HasSuffix(reg.GetQueue(), "default") {
		t.Fatalf("register response = %v", &reg)
	}
	// Heartbeats: response_id is echoed exactly.
	respID := int32(0)
	for i := 0; i < 3; i++ {
		var ar yarnpb.AllocateResponse
		if err := am.Call(ctx, "allocate", &yarnpb.AllocateRequest{ResponseId: proto.Int32(respID), Progress: proto.Float32(0.5)}, &ar); err != nil {
			t.Fatal(err)
		}
		if ar.GetResponseId() != respID+1 {
			t.Fatalf("allocate %d: response_id %d, want %d", i, ar.GetResponseId(), respID+1)
		}
		if ar.GetNumClusterNodes() != int32(c.NodeManagers) {
			t.Fatalf("num_cluster_nodes = %d", ar.GetNumClusterNodes())
		}
		respID = ar.GetResponseId()
	}
	for i := 0; ; i++ {
		var fr yarnpb.FinishApplicationMasterResponse
		if err := am.Call(ctx, "finishApplicationMaster", &yarnpb.FinishApplicationMasterRequest{
			FinalApplicationStatus: yarnpb.FinalApplicationStatus_APP_SUCCEEDED.Enum(), Diagnostics: proto.String("stoke test done"),
		}, &fr); err != nil {
			t.Fatal(err)
		}
		if fr.GetIsUnregistered() {
			break
		}
		if i > 100 {
			t.Fatal("finishApplicationMaster never reported isUnregistered")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for {
		r := report()
		if r.GetYarnApplicationState() == yarnpb.YarnApplicationState_FINISHED {
			if r.GetFinalApplicationStatus() != yarnpb.FinalApplicationStatus_APP_SUCCEEDED {
				t.Fatalf("final status %v: %s", r.GetFinalApplicationStatus(), r.GetDiagnostics())
			}
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("application still %v", r.GetYarnApplicationState())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return qop
}

// TestUnmanagedAMProtection runs the AM protocol on harnesses whose hadoop.rpc.protection is
// integrity, then privacy, so the scheduler connection must negotiate DIGEST-MD5 auth-int or
// auth-conf and wrap every packet both ways. Each level starts its own minicluster, one after
// the other.
func TestUnmanagedAMProtection(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: two more minicluster starts")
	}
	for _, tc := range []struct{ protection, qop string }{{"integrity", "auth-int"}, {"privacy", "auth-conf"}} {
		t.Run(tc.protection, func(t *testing.T) {
			c := hadooptest.StartWith(t, hadooptest.Options{RPCProtection: tc.protection})
			if c.RPCProtection != tc.protection {
				t.Fatalf("harness runs with hadoop.rpc.protection=%q", c.RPCProtection)
			}
			if qop := unmanagedAM(t, c); qop != tc.qop {
				t.Fatalf("negotiated QOP %q, want %s", qop, tc.qop)
			}
		})
	}
}

package local

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/stoke-run/stoke/executor"
)

// The local backend names why an executor could not join the driver, by
// its exit code, and does not replace it then (issue 11, item 9).
func TestExitReasonPerCode(t *testing.T) {
	for _, tc := range []struct {
		code    int
		want    string
		noRetry bool
	}{
		{executor.ExitFailed, "exited with code 1", false},
		{executor.ExitBinaryDiffers, "binary differs", true},
		{executor.ExitUnreachable, "driver was unreachable", true},
		{executor.ExitUnauthorized, "wrong application secret", true},
		{executor.ExitRefused, "refused by the driver", true},
	} {
		err := exec.Command("sh", "-c", fmt.Sprintf("exit %d", tc.code)).Run()
		reason, joinFailed := exitReason(err)
		if !strings.Contains(reason, tc.want) || joinFailed != tc.noRetry {
			t.Errorf("exit %d: %q, join failed %v; want %q, %v", tc.code, reason, joinFailed, tc.want, tc.noRetry)
		}
		if tc.code != executor.ExitBinaryDiffers && strings.Contains(reason, "binary differs") {
			t.Errorf("exit %d blamed on the binary: %q", tc.code, reason)
		}
	}
	if r, _ := exitReason(exec.Command("sh", "-c", "kill -9 $$").Run()); !strings.Contains(r, "signal killed") {
		t.Errorf("killed process: %q", r)
	}
}

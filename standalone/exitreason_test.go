package standalone

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/stoke-run/stoke/executor"
)

// A worker reports each executor exit code truthfully: only code 3 is a
// differing binary (issue 11, item 9).
func TestWorkerExitReasonPerCode(t *testing.T) {
	for code, want := range map[int]string{
		executor.ExitFailed:        "exited with code 1",
		executor.ExitBinaryDiffers: "binary differs",
		executor.ExitUnreachable:   "driver was unreachable: check stoke.driver.host",
		executor.ExitUnauthorized:  "wrong application secret",
		executor.ExitRefused:       "refused by the driver: see its log",
	} {
		err := exec.Command("sh", "-c", fmt.Sprintf("exit %d", code)).Run()
		state, reason := exitReason(err, false)
		if state != StateFailed || !strings.Contains(reason, want) {
			t.Errorf("exit %d: %s %q, want FAILED with %q", code, state, reason, want)
		}
		if code != executor.ExitBinaryDiffers && strings.Contains(reason, "binary differs") {
			t.Errorf("exit %d blamed on the binary: %q", code, reason)
		}
	}
}

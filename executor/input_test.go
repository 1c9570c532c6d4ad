package executor

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
)

// An input file that cannot be read fails the task with its path and the
// OS error, not a panic with a goroutine dump (issue 11, item 9).
func TestUnreadableInputFailsTheTask(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, path, oserr string
		setup             func(t *testing.T, p string)
	}{
		{"vanished", filepath.Join(dir, "gone.txt"), "no such file or directory", func(t *testing.T, p string) {
			// Listed by the driver, removed before the task reads it.
			if err := os.WriteFile(p, []byte("a\nb\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
		}},
		{"directory", filepath.Join(dir, "adir"), "is a directory", func(t *testing.T, p string) {
			if err := os.Mkdir(p, 0o755); err != nil {
				t.Fatal(err)
			}
		}},
		{"permission", filepath.Join(dir, "secret.txt"), "permission denied", func(t *testing.T, p string) {
			if os.Geteuid() == 0 {
				t.Skip("root reads files whatever their mode")
			}
			if err := os.WriteFile(p, []byte("a\n"), 0o000); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.setup(t, tc.path)
			for _, sink := range []*pb.Sink{{Kind: &pb.Sink_Count{Count: true}}, {Kind: &pb.Sink_Collect{Collect: "string"}}} {
				for _, start := range []int64{0, 1} {
					st := Run(context.Background(), &Env{Blocks: NewBlockStore()}, &pb.TaskDesc{TaskId: 1,
						Source: &pb.Source{Kind: &pb.Source_Text{Text: &pb.TextSplit{Path: tc.path, Start: start, Length: 10}}, Type: "string"},
						Sink:   sink})
					if st.State != pb.TaskState_FAILED {
						t.Fatalf("state %v, want FAILED (%q)", st.State, st.Error)
					}
					if !strings.Contains(st.Error, tc.path) || !strings.Contains(st.Error, tc.oserr) {
						t.Fatalf("error %q lacks the path %s or %q", st.Error, tc.path, tc.oserr)
					}
					if strings.Contains(st.Error, "panic") || strings.Contains(st.Error, "goroutine") || strings.Contains(st.Error, ".go:") {
						t.Fatalf("error carries a panic dump: %q", st.Error)
					}
				}
			}
		})
	}
}

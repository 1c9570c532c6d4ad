package standalone

import (
	"net"
	"os"
	"testing"
)

// A master whose start fails after it made its temporary binary store
// (a bad recovery setting, a port in use) leaves nothing behind.
func TestFailedMasterStartLeavesNothing(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	if _, err := StartMaster(MasterOptions{Host: "127.0.0.1", WebUIPort: -1, RecoveryMode: RecoveryFilesystem}); err == nil {
		t.Fatal("a FILESYSTEM recovery without a directory started")
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := busy.Addr().(*net.TCPAddr).Port
	if _, err := StartMaster(MasterOptions{Host: "127.0.0.1", Port: port, WebUIPort: -1}); err == nil {
		t.Fatal("a master started on a port in use")
	}
	if _, err := StartMaster(MasterOptions{Host: "127.0.0.1", WebUIPort: port}); err == nil {
		t.Fatal("a master's web UI started on a port in use")
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("failed master starts left %v", left)
	}
}

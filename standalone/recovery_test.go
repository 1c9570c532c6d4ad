package standalone_test

import (
	"net"
	"testing"
	"time"

	"github.com/stoke-run/stoke/standalone"
)

// FILESYSTEM recovery: kill -9 the only master mid-job and start a new one
// on the same address and directory; workers and the application
// re-attach, the job finishes with every result once, and the recovered
// master knows the application's executors.
func TestFilesystemRecoveryMasterKilledMidJob(t *testing.T) {
	if testing.Short() {
		t.Skip("starts daemons")
	}
	dir := t.TempDir()
	pc := startProcessCluster(t, 2, 2, 1024, "--conf", "stoke.deploy.recoveryMode=FILESYSTEM", "--conf", "stoke.deploy.recoveryDirectory="+dir)
	sc, rec := runApp(t, "stoke://"+pc.addr, 2, nil)
	const n = 60
	done, got := slowSumJob(t, sc, n)
	waitTaskEnds(t, rec, 4)
	pc.master.signal(9)
	<-pc.master.done
	t.Log("killed the master")
	_, port, _ := net.SplitHostPort(pc.addr)
	_, uiPort, _ := net.SplitHostPort(pc.uiAddr)
	startDaemon(t, nil, append([]string{"master", "--host", "127.0.0.1", "--port", port, "--webui-port", uiPort}, pc.confArgs...)...)
	s := waitState(t, pc.addr, 30*time.Second, "the restarted master to recover workers and the application", func(s standalone.MasterState) bool {
		return s.Status == "ALIVE" && aliveWorkers(s) == 2 && len(s.Apps) == 1 && s.Apps[0].ID == sc.AppID() && len(s.Apps[0].Executors) == 2
	})
	if s.CoresUsed != 4 {
		t.Errorf("recovered master counts %d cores in use; want the 4 of the re-attached executors", s.CoresUsed)
	}
	if err := <-done; err != nil {
		t.Fatalf("job across the master restart: %v", err)
	}
	checkSums(t, *got, n)
	// The application goes on: another job, then a clean finish.
	done, got = slowSumJob(t, sc, 20)
	if err := <-done; err != nil {
		t.Fatalf("second job after recovery: %v", err)
	}
	checkSums(t, *got, 20)
	if err := sc.Stop(); err != nil {
		t.Fatal(err)
	}
	waitState(t, pc.addr, 20*time.Second, "the application to finish and free its cores", func(s standalone.MasterState) bool {
		return len(s.Apps) == 0 && s.CoresUsed == 0
	})
}

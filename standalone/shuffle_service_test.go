package standalone_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/internal/rpc"
	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
	"github.com/stoke-run/stoke/internal/testutil"
	"github.com/stoke-run/stoke/standalone"
)

// appSecret reads the application secret a worker gave one of its
// executors, as that executor (or code it runs) can.
func appSecret(t *testing.T, w *standalone.Worker, appID string) string {
	t.Helper()
	for key, pid := range w.ExecutorPIDs() {
		if !strings.HasPrefix(key, appID+"/") {
			continue
		}
		env, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
		if err != nil {
			t.Fatal(err)
		}
		for _, kv := range bytes.Split(env, []byte{0}) {
			if v, ok := strings.CutPrefix(string(kv), "STOKE_APP_SECRET="); ok {
				return v
			}
		}
	}
	t.Fatalf("no executor of %s on the worker", appID)
	return ""
}

func serviceFetch(addr, secret, app, block string) ([]byte, error) {
	cc, err := grpc.NewClient(addr, append(rpc.DialOptions(secret, 8<<20), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		return nil, err
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), testutil.D(10*time.Second))
	defer cancel()
	stream, err := pb.NewExecutorClient(cc).FetchBlocks(ctx, &pb.FetchRequest{Blocks: []string{block}, AppId: app})
	if err != nil {
		return nil, err
	}
	var out []byte
	for {
		ch, err := stream.Recv()
		if err != nil {
			return nil, err
		}
		if ch.Error != "" {
			return nil, errors.New(ch.Error)
		}
		out = append(out, ch.Data...)
		if ch.Last {
			return out, nil
		}
	}
}

// A worker's shuffle service serves an application's map outputs to that
// application's secret only: the executor of another application on the
// same worker, holding its own application's secret, is refused, as are
// ids that are not the application's. When the application ends, the
// worker stops serving it and removes its shuffle files.
func TestWorkerShuffleServiceRefusesOtherApplicationsAndCleansUp(t *testing.T) {
	if testing.Short() {
		t.Skip("starts executor processes")
	}
	m := inProcessMaster(t, "")
	workDir := t.TempDir()
	w, err := standalone.StartWorker(standalone.WorkerOptions{Masters: []string{m.Addr()}, Host: "127.0.0.1", Cores: 2, MemoryMiB: 2048,
		WorkDir: workDir, WebUIPort: 0, Log: logrus.StandardLogger(), ShuffleService: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	ctx, cancel := context.WithTimeout(context.Background(), testutil.D(10*time.Second))
	defer cancel()
	if err := w.WaitRegistered(ctx); err != nil {
		t.Fatal(err)
	}
	addr := w.ShuffleServiceAddr()
	one := stoke.Config{"stoke.executor.cores": "1", "stoke.executor.memory": "512m", "stoke.cores.max": "1", "stoke.shuffle.service.enabled": "true"}
	scA, _ := runApp(t, "stoke://"+m.Addr(), 1, one)
	done, got := slowSumJob(t, scA, 8)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	checkSums(t, *got, 8)
	appA := scA.AppID()
	if e := scA.Driver().Executors(); len(e) != 1 || e[0].ShuffleServiceAddress != addr {
		t.Fatalf("executors %+v: want one registered with the worker's service %s", e, addr)
	}
	dirA := filepath.Join(workDir, appA, "shuffle")
	idx, _ := filepath.Glob(filepath.Join(dirA, "shuffle_*.index"))
	if len(idx) != 4 {
		t.Fatalf("index files %v: want one per map task (4)", idx)
	}
	block := strings.TrimSuffix(filepath.Base(idx[0]), ".index") + "_0"

	scB, _ := runApp(t, "stoke://"+m.Addr(), 1, one)
	appB := scB.AppID()
	secretA, secretB := appSecret(t, w, appA), appSecret(t, w, appB)
	if secretA == secretB {
		t.Fatal("two applications share a secret")
	}
	if _, err := serviceFetch(addr, secretA, appA, block); err != nil {
		t.Fatalf("application A's own block with its secret: %v", err)
	}
	for _, tc := range []struct{ name, secret, app string }{
		{"B's secret naming A", secretB, appA},
		{"no secret", "", appA},
		{"B's secret naming A through B's directory", secretB, appB + "/../" + appA},
		{"A's secret with a path for an id", secretA, "../" + filepath.Base(workDir) + "/" + appA},
	} {
		if _, err := serviceFetch(addr, tc.secret, tc.app, block); status.Code(err) != codes.Unauthenticated {
			t.Errorf("%s: err = %v, want Unauthenticated", tc.name, err)
		}
	}
	// B's own secret reaches only B's (empty) directory.
	if _, err := serviceFetch(addr, secretB, appB, block); err == nil || !strings.Contains(err.Error(), "not on this shuffle service") {
		t.Errorf("B asking for A's block name under its own id: %v", err)
	}

	scA.Stop()
	testutil.Eventually(t, testutil.D(30*time.Second), "application A's shuffle files removed", func() bool {
		_, err := os.Stat(dirA)
		return os.IsNotExist(err)
	})
	if _, err := serviceFetch(addr, secretA, appA, block); status.Code(err) != codes.Unauthenticated {
		t.Errorf("after application A ended: %v", err)
	}
}

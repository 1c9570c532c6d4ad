package standalone_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/internal/testutil"
	"github.com/stoke-run/stoke/standalone"
)

func TestUnknownMasterIsAClearError(t *testing.T) {
	port := freePort(t) // nothing listens there
	_, err := stoke.New(stoke.Config{"stoke.master": "stoke://127.0.0.1:" + strconv.Itoa(port), "stoke.ui.enabled": "false", "stoke.driver.allowMultipleContexts": "true",
		"stoke.standalone.registrationTimeout": "1s"})
	for _, want := range []string{"no standalone master among", "within 1s (stoke.standalone.registrationTimeout)", "connection refused"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("err = %v, want it to say %q", err, want)
		}
	}
	_, err = stoke.New(stoke.Config{"stoke.master": "stoke://127.0.0.1:" + strconv.Itoa(port), "stoke.standalone.registrationTimeout": "soon", "stoke.driver.allowMultipleContexts": "true"})
	if err == nil || !strings.Contains(err.Error(), "stoke.standalone.registrationTimeout") {
		t.Fatalf("a malformed timeout: err = %v", err)
	}
	_, err = stoke.New(stoke.Config{"stoke.master": "spark://h:7077", "stoke.driver.allowMultipleContexts": "true"})
	if err == nil || !strings.Contains(err.Error(), `cannot parse master URL "spark://h:7077"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestWorkerOfferingMoreMemoryThanTheMachine(t *testing.T) {
	total, err := standalone.MachineMemoryMiB()
	if err != nil {
		t.Skip(err)
	}
	_, err = standalone.StartWorker(standalone.WorkerOptions{Masters: []string{"127.0.0.1:1"}, Cores: 1, MemoryMiB: total + 1, WorkDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "this machine has only") {
		t.Fatalf("err = %v", err)
	}
}

func TestLocalClusterRefusesExecutorMemoryAboveM(t *testing.T) {
	_, err := stoke.New(stoke.Config{"stoke.master": "local-cluster[2,2,512]", "stoke.executor.memory": "1g", "stoke.driver.allowMultipleContexts": "true"})
	if err == nil || !strings.Contains(err.Error(), "stoke.executor.memory is 1024 MiB but each worker has only 512 MiB") {
		t.Fatalf("err = %v", err)
	}
}

// An application bigger than every worker waits with a warning on the
// driver; once a worker that fits joins, it runs.
func TestApplicationThatDoesNotFitWaits(t *testing.T) {
	if testing.Short() {
		t.Skip("starts executor processes")
	}
	m := inProcessMaster(t, "")
	inProcessWorker(t, m, 1, 512, "")
	log, buf := bufferLogger()
	sc, err := stoke.New(stoke.Config{"stoke.master": "stoke://" + m.Addr(), "stoke.executor.memory": "1g", "stoke.ui.enabled": "false",
		"stoke.driver.allowMultipleContexts": "true"}, stoke.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Stop()
	waitLog(t, buf, "no alive worker can hold one executor of 1 core(s) and 1024 MiB", 10*time.Second)
	if s := m.State(); len(s.Apps) != 1 || s.Apps[0].State != standalone.StateWaiting || s.Apps[0].Warning == "" {
		t.Errorf("waiting application: %+v", s.Apps)
	}
	inProcessWorker(t, m, 2, 2048, "")
	ds, err := stoke.Parallelize(sc, []int{1, 2, 3, 4}, 2)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testutil.D(time.Minute))
	defer cancel()
	if n, err := stoke.Count(ctx, ds); err != nil || n != 4 {
		t.Fatalf("count once a worker fits = %d, %v", n, err)
	}
}

// A binary whose bytes do not match the registered SHA-256 is refused by
// the workers; the reason reaches the driver's log, and the master stops
// relaunching after repeated failures.
func TestCorruptedBinaryIsRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("starts daemons")
	}
	m := inProcessMaster(t, "")
	inProcessWorker(t, m, 2, 1024, "")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "app")
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	c, _, err := conf.Resolve(map[string]string{"stoke.master": "stoke://" + m.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	log, buf := bufferLogger()
	mu, _ := conf.ParseMaster("stoke://" + m.Addr())
	cl, err := standalone.NewClient(mu, c, log)
	if err != nil {
		t.Fatal(err)
	}
	// The client registers the hash of other bytes than it serves.
	sum := sha256.Sum256(append(data, 0))
	cl.Binary, cl.BinarySHA256 = bin, hex.EncodeToString(sum[:])
	if err := cl.Start(context.Background(), nopDriver{}); err != nil {
		t.Fatal(err)
	}
	defer cl.Stop(context.Background())
	waitLog(t, buf, "corrupted or not the one registered", 30*time.Second)
	waitLog(t, buf, "executors of the application failed in a row", 30*time.Second)
	waitLog(t, buf, "the master starts no more", 30*time.Second)
}

// A master with a secret refuses applications (and workers) without it.
func TestWrongSecretIsRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("starts executor processes")
	}
	m := inProcessMaster(t, "s3cret")
	inProcessWorker(t, m, 2, 1024, "s3cret")
	for secret, want := range map[string]string{"wrong": "wrong cluster secret", "": "requires the cluster secret"} {
		_, err := stoke.New(stoke.Config{"stoke.master": "stoke://" + m.Addr(), "stoke.authenticate.secret": secret, "stoke.ui.enabled": "false", "stoke.driver.allowMultipleContexts": "true"})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("secret %q: err = %v, want %q", secret, err, want)
		}
	}
	sc, _ := runApp(t, "stoke://"+m.Addr(), 1, stoke.Config{"stoke.authenticate.secret": "s3cret"})
	ds, err := stoke.Parallelize(sc, []int{1, 2, 3}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := stoke.Count(context.Background(), ds); err != nil || n != 3 {
		t.Fatalf("count with the right secret = %d, %v", n, err)
	}
}

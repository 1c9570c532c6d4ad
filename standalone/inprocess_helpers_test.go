package standalone_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/stoke-run/stoke/internal/testutil"
	"github.com/stoke-run/stoke/standalone"
)

// syncBuffer is a log destination safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func bufferLogger() (*logrus.Logger, *syncBuffer) {
	buf := &syncBuffer{}
	log := logrus.New()
	log.SetOutput(buf)
	log.SetLevel(logrus.InfoLevel)
	return log, buf
}

// waitLog waits until the log holds s.
func waitLog(t *testing.T, buf *syncBuffer, s string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(testutil.D(timeout))
	for !strings.Contains(buf.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("log never said %q:\n%s", s, buf.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// inProcessMaster starts a master on loopback with web UI.
func inProcessMaster(t *testing.T, secret string) *standalone.Master {
	t.Helper()
	m, err := standalone.StartMaster(standalone.MasterOptions{Host: "127.0.0.1", Port: 0, WebUIPort: 0, Secret: secret,
		SpreadOut: true, WorkerTimeout: 5 * time.Second, WorkDir: t.TempDir(), Log: logrus.StandardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	return m
}

// inProcessWorker starts a worker of cores and mem for m and waits for it
// to register.
func inProcessWorker(t *testing.T, m *standalone.Master, cores, mem int, secret string) *standalone.Worker {
	t.Helper()
	w, err := standalone.StartWorker(standalone.WorkerOptions{Masters: []string{m.Addr()}, Host: "127.0.0.1", Cores: cores, MemoryMiB: mem,
		WorkDir: t.TempDir(), WebUIPort: 0, Secret: secret, Log: logrus.StandardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	ctx, cancel := context.WithTimeout(context.Background(), testutil.D(10*time.Second))
	defer cancel()
	if err := w.WaitRegistered(ctx); err != nil {
		t.Fatal(err)
	}
	return w
}

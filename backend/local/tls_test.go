package local_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/backend/backendtest"
	"github.com/stoke-run/stoke/backend/local"
	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/internal/events"
	"github.com/stoke-run/stoke/internal/testutil"
)

var tlsSquare = stoke.RegisterMap("localtest.square", func(n int) int { return n * n })

// writeCA makes a CA and a certificate it signs for 127.0.0.1; it returns
// the cert, key and trust files.
func writeCA(t *testing.T, dir string) (cert, key, trust string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "stoke test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "stoke"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		KeyUsage:    x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(k)
	cert, key, trust = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), filepath.Join(dir, "ca.pem")
	os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
	os.WriteFile(trust, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600)
	return cert, key, trust
}

// With TLS configured, executor processes and the driver talk mutual TLS,
// shuffle fetches included.
func TestExecutorProcessesOverMutualTLS(t *testing.T) {
	cert, key, trust := writeCA(t, t.TempDir())
	cfg := stoke.Config{
		"stoke.master": "local-cluster[2,2,1024]", "stoke.ui.enabled": "false",
		"stoke.rpc.tls.certFile": cert, "stoke.rpc.tls.keyFile": key, "stoke.rpc.tls.trustFile": trust,
	}
	c := confOf(cfg)
	sc, err := stoke.New(cfg, stoke.WithBackend(local.NewProcesses(2, 2, c, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Stop()
	ds, _ := stoke.Parallelize(sc, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 4)
	sums, err := stoke.Collect(context.Background(), stoke.ReduceByKey(stoke.Map(stoke.Map(ds, tlsSquare), modKey), addUp, 3))
	if err != nil {
		t.Fatalf("job over TLS: %v", err)
	}
	total := 0
	for _, kv := range sums {
		total += kv.Value
	}
	if total != 385 {
		t.Fatalf("sum of squares over TLS = %d, want 385", total)
	}
}

// An executor without the certificates cannot join a TLS driver.
func TestPlaintextExecutorCannotJoinATLSDriver(t *testing.T) {
	cert, key, trust := writeCA(t, t.TempDir())
	c := conf.New()
	for k, v := range map[string]string{"stoke.rpc.tls.certFile": cert, "stoke.rpc.tls.keyFile": key, "stoke.rpc.tls.trustFile": trust} {
		c.Set(k, v, conf.SourceCode)
	}
	procs := local.NewProcesses(1, 1, c, nil)
	procs.WorkDir = t.TempDir()
	// The executor gets the driver's address but no certificates.
	procs.ExtraEnv = []string{"STOKE_TLS_CERT=", "STOKE_TLS_KEY=", "STOKE_TLS_TRUST="}
	sc, err := stoke.New(stoke.Config{"stoke.master": "local-cluster[1,1,512]", "stoke.ui.enabled": "false",
		"stoke.rpc.tls.certFile": cert, "stoke.rpc.tls.keyFile": key, "stoke.rpc.tls.trustFile": trust},
		stoke.WithBackend(procs))
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Stop()
	log := filepath.Join(procs.WorkDir, "executor-0.log")
	deadline := time.Now().Add(testutil.D(30 * time.Second))
	for {
		data, _ := os.ReadFile(log)
		if strings.Contains(string(data), "registration refused") || strings.Contains(string(data), "stoke executor:") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a plaintext executor was not refused; log:\n%s", data)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := len(sc.Driver().Executors()); n != 0 {
		t.Fatalf("%d executors joined without TLS", n)
	}
}

// Graceful decommission between executor processes over mutual TLS: the
// decommissioned executor's map outputs move to the other one and a later
// read of the shuffle runs no map task again.
func TestDecommissionOverMutualTLS(t *testing.T) {
	cert, key, trust := writeCA(t, t.TempDir())
	cfg := stoke.Config{
		"stoke.master": "local-cluster[2,2,1024]", "stoke.ui.enabled": "false",
		"stoke.rpc.tls.certFile": cert, "stoke.rpc.tls.keyFile": key, "stoke.rpc.tls.trustFile": trust,
		"stoke.decommission.enabled": "true", "stoke.storage.decommission.enabled": "true",
	}
	c := confOf(cfg)
	rec := backendtest.NewRecorder()
	sc, err := stoke.New(cfg, stoke.WithBackend(local.NewProcesses(2, 2, c, nil)), stoke.WithListener(rec))
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Stop()
	for deadline := time.Now().Add(testutil.D(30 * time.Second)); len(sc.Driver().Executors()) < 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("executors did not register")
		}
	}
	ds, _ := stoke.Parallelize(sc, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 8)
	sums := stoke.ReduceByKey(stoke.Map(stoke.Map(ds, tlsSquare), modKey), addUp, 3)
	check := func(what string) {
		t.Helper()
		got, err := stoke.Collect(context.Background(), sums)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		total := 0
		for _, kv := range got {
			total += kv.Value
		}
		if total != 385 {
			t.Fatalf("%s: sum of squares = %d, want 385", what, total)
		}
	}
	check("first job")
	// Events reach the recorder through the asynchronous bus.
	testutil.Eventually(t, testutil.D(30*time.Second), "the first job's end event", func() bool {
		for _, e := range rec.Events() {
			if _, ok := e.(events.JobEnd); ok {
				return true
			}
		}
		return false
	})
	holders := map[string]int{}
	mapStage := -1
	for _, e := range rec.Events() {
		switch e := e.(type) {
		case events.StageSubmitted:
			if mapStage < 0 {
				mapStage = e.StageID // the map stage is submitted first
			}
		case events.TaskEnd:
			if e.Status == events.TaskSuccess && e.StageID == mapStage {
				holders[e.ExecutorID]++
			}
		}
	}
	victim := ""
	for id := range holders {
		victim = id
	}
	if victim == "" {
		t.Fatal("no map task succeeded")
	}
	if err := sc.Driver().DecommissionExecutor(victim, "decommissioned by the test"); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, testutil.D(30*time.Second), "the executor removed after moving its output", func() bool {
		for _, e := range rec.Events() {
			if r, ok := e.(events.ExecutorRemoved); ok && r.ExecutorID == victim {
				if r.MigratedShuffleOutputs != holders[victim] || !strings.Contains(r.Reason, "decommissioned: ") {
					t.Fatalf("removed: %+v, want %d outputs migrated", r, holders[victim])
				}
				return true
			}
		}
		return false
	})
	before := len(rec.Events())
	check("after the decommission")
	for _, e := range rec.Events()[before:] {
		if te, ok := e.(events.TaskStart); ok && te.StageID == mapStage {
			t.Fatalf("a map task ran again on %s after the decommission", te.ExecutorID)
		}
	}
}

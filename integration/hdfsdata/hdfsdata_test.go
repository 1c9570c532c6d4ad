// Package hdfsdata tests reading and writing datasets on a real HDFS (the
// minicluster harness): TextFile and SaveAsTextFile with hdfs:// paths.
package hdfsdata

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/colinmarc/hdfs/v2"
	"github.com/colinmarc/hdfs/v2/hadoopconf"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/integration/hadooptest"
	"github.com/stoke-run/stoke/internal/fsx"
	"github.com/stoke-run/stoke/internal/hadoop/datatransfer"
	"github.com/stoke-run/stoke/internal/history/historytest"
)

var (
	words = stoke.RegisterFlatMap("hdfsdata.words", strings.Fields)
	one   = stoke.RegisterMap("hdfsdata.one", func(w string) stoke.KV[string, int] { return stoke.KV[string, int]{Key: w, Value: 1} })
	sum   = stoke.RegisterReduceByKey[string, int]("hdfsdata.sum", func(a, b int) int { return a + b })
)

func TestMain(m *testing.M) {
	historytest.RunIfAsked() // the driver programs of TestHistoryServerOnHDFS
	stoke.RunIfExecutor()
	os.Exit(m.Run())
}

func TestWordCountReadsAndWritesHDFS(t *testing.T) {
	cluster := hadooptest.Start(t)
	wordCount(t, cluster)
}

// TestWordCountSecureHDFS runs the same on a Kerberos cluster, logged in from a ticket cache
// made by MIT kinit, with privacy on NameNode RPC (colinmarc/hdfs and our own block-location
// call) and on DataNode transfer (Stoke's SASL handshake and security layer).
func TestWordCountSecureHDFS(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: a secure minicluster start")
	}
	cluster := hadooptest.StartWith(t, hadooptest.Options{Secure: "privacy"})
	t.Setenv("KRB5_CONFIG", cluster.KDC.Krb5Conf)
	t.Setenv("KRB5CCNAME", "FILE:"+cluster.KDC.Kinit(t, cluster.UserPrincipal, cluster.UserKeytab))
	wordCount(t, cluster)
	t.Run("PrivacyHidesBlocks", func(t *testing.T) { privacyHidesBlocks(t, cluster) })
}

// privacyHidesBlocks records every byte between the client and the DataNode while a file is
// written and read back under data transfer privacy: the content arrives intact, and it
// appears nowhere on the wire.
func privacyHidesBlocks(t *testing.T, cluster *hadooptest.Cluster) {
	conf, err := hadoopconf.LoadFromEnvironment()
	if err != nil {
		t.Fatal(err)
	}
	set, err := fsx.Options(conf, "")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var wire bytes.Buffer
	d := &datatransfer.Dialer{QOP: []string{"auth-conf"}, Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &recorded{Conn: nc, mu: &mu, w: &wire}, nil
	}}
	// The dialer accepts only auth-conf: a DataNode offering less fails the transfer.
	set.Client.DatanodeDialFunc = d.DialContext
	client, err := hdfs.NewClient(set.Client)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	marker := strings.Repeat("stoke-plaintext-marker ", 20000) // about 460 KB
	p := "/tmp/stoke-privacy-capture.txt"
	client.Remove(p)
	w, err := client.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, marker)
	if err := closeReplicated(w); err != nil {
		t.Fatal(err)
	}
	r, err := client.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	back, err := io.ReadAll(r)
	r.Close()
	if err != nil || string(back) != marker {
		t.Fatalf("read back %d bytes (%v), want %d", len(back), err, len(marker))
	}
	mu.Lock()
	defer mu.Unlock()
	if wire.Len() < 2*len(marker) {
		t.Fatalf("recorded %d bytes on DataNode connections; the file went through them twice (%d bytes)", wire.Len(), len(marker))
	}
	if bytes.Contains(wire.Bytes(), []byte("stoke-plaintext-marker")) {
		t.Fatal("the file's content appears in plaintext on a DataNode connection under privacy")
	}
}

// recorded copies what goes through a connection, both ways, to w.
type recorded struct {
	net.Conn
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (r *recorded) Read(p []byte) (int, error) {
	n, err := r.Conn.Read(p)
	r.mu.Lock()
	r.w.Write(p[:n])
	r.mu.Unlock()
	return n, err
}

func (r *recorded) Write(p []byte) (int, error) {
	r.mu.Lock()
	r.w.Write(p)
	r.mu.Unlock()
	return r.Conn.Write(p)
}

func wordCount(t *testing.T, cluster *hadooptest.Cluster) {
	for _, kv := range cluster.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	base := cluster.FS + "/tmp/stoke-hdfsdata"
	fsys, err := fsx.For(base)
	if err != nil {
		t.Fatal(err)
	}
	if err := fsys.MkdirAll(base); err != nil {
		t.Fatal(err)
	}
	// Two files, the second larger than a partition's share.
	var big strings.Builder
	for i := 0; i < 5000; i++ {
		big.WriteString("gamma delta delta\n")
	}
	for name, text := range map[string]string{"a.txt": "alpha beta\nbeta gamma\n", "b.txt": big.String()} {
		w, err := fsys.Create(fsys.Join(base, name))
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, text)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}

	// The NameNode tells where the blocks are (the scheduler's locality
	// preferences for the splits).
	info, err := fsys.Stat(fsys.Join(base, "b.txt"))
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := fsys.(fsx.BlockLocator).Blocks(info.Path, info.Size)
	if err != nil {
		t.Fatalf("block locations: %v", err)
	}
	if len(blocks) == 0 || len(blocks[0].Hosts) == 0 || blocks[0].Length != info.Size {
		t.Fatalf("blocks of a %d-byte file: %+v", info.Size, blocks)
	}

	sc, err := stoke.New(stoke.Config{"stoke.master": "local[4]", "stoke.ui.enabled": "false"})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Stop()
	lines, err := stoke.TextFile(sc, base, 6)
	if err != nil {
		t.Fatal(err)
	}
	if lines.NumPartitions() < 6 {
		t.Errorf("%d partitions, want at least 6", lines.NumPartitions())
	}
	counts := stoke.ReduceByKey(stoke.Map(stoke.FlatMap(lines, words), one), sum, 3)
	out := cluster.FS + "/tmp/stoke-hdfsdata-out"
	ctx := context.Background()
	if err := stoke.SaveAsTextFile(ctx, counts, out); err != nil {
		t.Fatalf("saving to HDFS: %v", err)
	}
	back, err := stoke.TextFile(sc, out, 1)
	if err != nil {
		t.Fatal(err)
	}
	got, err := stoke.Collect(ctx, back)
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(got)
	want := []string{"{alpha 1}", "{beta 2}", "{delta 10000}", "{gamma 5001}"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("counts read back from HDFS: %v, want %v", got, want)
	}
	if _, err := fsys.Stat(fsys.Join(out, "_SUCCESS")); err != nil {
		t.Errorf("no _SUCCESS on HDFS: %v", err)
	}
	if err := stoke.SaveAsTextFile(ctx, counts, out); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("saving over an existing HDFS directory: %v", err)
	}
}

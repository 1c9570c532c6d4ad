package yarn_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/integration/hadooptest"
	"github.com/stoke-run/stoke/internal/fsx"
	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/commonpb"
	"github.com/stoke-run/stoke/internal/hadoop/krb"
	"github.com/stoke-run/stoke/internal/testutil"
)

// TestAttackHadoopPrivacyEveryNameNodeByte puts a recording proxy in front of the NameNode of
// a Kerberos minicluster and points every client at it (fs.defaultFS and the hdfs:// paths):
// this process's HDFS access through fsx (keytab login), TextFile and SaveAsTextFile in a
// local job, and a cluster-mode YARN submission with a keytab (the client's staging upload
// and delegation token, the NodeManager's localization, and the AM, driver and executors in
// their containers, which get the same configuration). At integrity and privacy every packet
// after the SASL handshake, both ways, on every NameNode connection, is a SASL WRAP message;
// at privacy no path, method name, protocol or user name appears on the wire. Authentication
// is the control: there the recorder sees all of them in plaintext and unwrapped packets, so
// the test can fail.
func TestAttackHadoopPrivacyEveryNameNodeByte(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: secure miniclusters")
	}
	for _, level := range []string{"privacy", "integrity", "authentication"} {
		t.Run(level, func(t *testing.T) { attackHadoopPrivacy(t, level) })
	}
}

func attackHadoopPrivacy(t *testing.T, level string) {
	c := hadooptest.StartWith(t, hadooptest.Options{Secure: level})
	rec := recordNameNode(t, c.NameNode)
	_, port, _ := net.SplitHostPort(rec.lis.Addr().String())
	proxied := "localhost:" + port
	confDir := proxiedConf(t, c, proxied)
	t.Setenv("HADOOP_CONF_DIR", confDir)
	t.Setenv("YARN_CONF_DIR", confDir)
	t.Setenv("KRB5_CONFIG", c.KDC.Krb5Conf)
	fsx.UseKerberos(krb.LoginOptions{Principal: c.UserPrincipal, Keytab: c.UserKeytab})
	fs := "hdfs://" + proxied

	// The marker is in every path the clients name; .stokeStaging is in the staging paths.
	base := "/tmp/stoke-privacy-marker-" + level
	want := writeInput(t, &hadooptest.Cluster{FS: fs}, base)

	// TextFile and SaveAsTextFile in a local job (this process).
	sc, err := stoke.New(stoke.Config{"stoke.master": "local[2]", "stoke.ui.enabled": "false"})
	if err != nil {
		t.Fatal(err)
	}
	lines, err := stoke.TextFile(sc, fs+base+"/input.txt", 2)
	if err != nil {
		t.Fatal(err)
	}
	counts := stoke.ReduceByKey(stoke.Map(stoke.FlatMap(lines, words), one), sum, 2)
	if err := stoke.SaveAsTextFile(context.Background(), counts, fs+base+"/out-local"); err != nil {
		t.Fatal(err)
	}
	sc.Stop()
	if got := readCounts(t, &hadooptest.Cluster{FS: fs}, base+"/out-local"); got["common"] != want["common"] {
		t.Fatalf("local job counts = %v, want %v", got, want)
	}

	// A cluster-mode submission with a keytab: staging, localization, AM, driver, executors.
	cfg := yarnConfig(stoke.Config{
		"stoke.app.name": "stoke-privacy-attack", "stoke.yarn.maxAppAttempts": "1", "stoke.executor.instances": "1",
		"stoke.kerberos.principal": c.UserPrincipal, "stoke.kerberos.keytab": c.UserKeytab,
	})
	appID, done, out := submitCluster(t, cfg, "wordcount", fs+base+"/input.txt", fs+base+"/out-cluster")
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v\n%s\nharness log: %s", appID, err, out, grepLog(c.LogFile, "Localiz", "SASL", "Sasl"))
		}
	case <-time.After(testutil.D(4 * time.Minute)):
		t.Fatalf("%s did not end\n%s", appID, out)
	}
	if got := readCounts(t, &hadooptest.Cluster{FS: fs}, base+"/out-cluster"); got["common"] != want["common"] {
		t.Fatalf("cluster job counts = %v, want %v", got, want)
	}

	conns := rec.connections()
	if len(conns) < 4 {
		t.Fatalf("the proxy saw %d NameNode connections; the test process, the staging client, the NodeManager, the AM and the executor each open one", len(conns))
	}
	all := rec.all()
	// What only a plaintext request or reply can show: the paths (all, the staging upload's, the driver's output from its container), the
	// methods, the protocol of every request header and the connection context's user.
	secrets := []string{
		"stoke-privacy-marker", ".stokeStaging", "out-cluster",
		"getFileInfo", "getBlockLocations", "getListing", "mkdirs", "create", "complete",
		"org.apache.hadoop.hdfs.protocol.ClientProtocol",
		c.UserPrincipal,
	}
	var unwrapped []string
	// The control (authentication): no connection carries a WRAP packet and
	// at least three show plaintext after their handshake, so the check can
	// tell. A connection that sent its preamble, or finished its handshake,
	// and then nothing (a client that gave up or closed, under load)
	// carries nothing to judge either way.
	wrappedConns := 0
	for i, cn := range conns {
		if cn.up.Len() < 7 {
			continue // opened as the recording was read: nothing sent yet
		}
		if err := cn.allWrapped(); err != nil {
			unwrapped = append(unwrapped, fmt.Sprintf("connection %d: %v", i, err))
		}
		if cn.wrapsSent() > 0 {
			wrappedConns++
		}
	}
	// Both kinds of NameNode authentication passed the proxy: Kerberos (this process, the
	// staging client, the AM and driver with the shipped keytab) and delegation tokens (the
	// NodeManager's localization, the executors).
	mechs := map[string]int{}
	for _, cn := range conns {
		mechs[cn.mechanism()]++
	}
	t.Logf("%s: %d NameNode connections through the proxy (mechanisms %v), %d bytes", level, len(conns), mechs, len(all))
	if mechs["GSSAPI"] < 3 || mechs["DIGEST-MD5"] < 1 {
		t.Errorf("mechanisms on the proxied connections: %v; want at least 3 GSSAPI and 1 DIGEST-MD5", mechs)
	}
	switch level {
	case "authentication":
		// The control: the recorder sees plaintext and unwrapped packets.
		for _, s := range secrets {
			if !bytes.Contains(all, []byte(s)) {
				t.Errorf("at authentication %q is not on the wire: the proxy did not see that traffic, so the checks at integrity and privacy would prove nothing", s)
			}
		}
		if wrappedConns > 0 || len(unwrapped) < 3 {
			t.Errorf("at authentication %d connections carried WRAP packets and %d showed plaintext: the wrap check cannot tell", wrappedConns, len(unwrapped))
		}
	case "integrity":
		// Signed, not hidden: the paths stay readable (which shows the traffic passed the
		// proxy), but nothing travels outside the security layer.
		for _, s := range []string{"stoke-privacy-marker", ".stokeStaging", "out-cluster"} {
			if !bytes.Contains(all, []byte(s)) {
				t.Errorf("at integrity %q is not on the wire: that traffic did not pass the proxy", s)
			}
		}
		fallthrough
	case "privacy":
		if wrappedConns < 3 {
			t.Errorf("at %s only %d connections carried WRAP packets: too few to show the layer holds", level, wrappedConns)
		}
		if len(unwrapped) > 0 {
			t.Errorf("at %s, NameNode traffic outside the SASL security layer:\n%s", level, strings.Join(unwrapped, "\n"))
		}
	}
	if level == "privacy" {
		for _, s := range secrets {
			if i := bytes.Index(all, []byte(s)); i >= 0 {
				t.Errorf("at privacy %q is in plaintext on a NameNode connection: ...%q...", s, all[max(0, i-40):min(len(all), i+len(s)+40)])
			}
		}
	}
}

// proxiedConf copies the cluster's configuration with the NameNode's address replaced by
// the proxy's, everywhere it appears (fs.defaultFS, dfs.namenode.rpc-address).
func proxiedConf(t *testing.T, c *hadooptest.Cluster, proxied string) string {
	t.Helper()
	dir := t.TempDir()
	entries, err := os.ReadDir(c.ConfDir)
	if err != nil {
		t.Fatal(err)
	}
	replaced := false
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(c.ConfDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte(c.NameNode)) {
			replaced = true
			data = bytes.ReplaceAll(data, []byte(c.NameNode), []byte(proxied))
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if !replaced {
		t.Fatalf("the configuration in %s never names the NameNode %s", c.ConfDir, c.NameNode)
	}
	return dir
}

// nnRecorder is a TCP proxy that keeps every byte of each connection, each direction apart.
type nnRecorder struct {
	lis   net.Listener
	mu    sync.Mutex
	conns []*recordedConn
}

type recordedConn struct {
	up, down bytes.Buffer // client to server, server to client; guarded by nnRecorder.mu
}

func recordNameNode(t *testing.T, target string) *nnRecorder {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &nnRecorder{lis: l}
	var wg sync.WaitGroup
	var open sync.Map
	t.Cleanup(func() {
		l.Close()
		open.Range(func(k, _ any) bool { k.(net.Conn).Close(); return true })
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			cl, err := l.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				cl.Close()
				continue
			}
			open.Store(cl, true)
			open.Store(up, true)
			rc := &recordedConn{}
			r.mu.Lock()
			r.conns = append(r.conns, rc)
			r.mu.Unlock()
			pipe := func(dst, src net.Conn, into *bytes.Buffer) {
				defer wg.Done()
				buf := make([]byte, 32<<10)
				for {
					n, err := src.Read(buf)
					if n > 0 {
						r.mu.Lock()
						into.Write(buf[:n])
						r.mu.Unlock()
						dst.Write(buf[:n])
					}
					if err != nil {
						dst.Close()
						return
					}
				}
			}
			wg.Add(2)
			go pipe(up, cl, &rc.up)
			go pipe(cl, up, &rc.down)
		}
	}()
	return r
}

// connections returns a copy of what each connection carried so far.
func (r *nnRecorder) connections() []*recordedConn {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*recordedConn, len(r.conns))
	for i, c := range r.conns {
		out[i] = &recordedConn{}
		out[i].up.Write(c.up.Bytes())
		out[i].down.Write(c.down.Bytes())
	}
	return out
}

// all is every byte recorded, both directions of every connection.
func (r *nnRecorder) all() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b bytes.Buffer
	for _, c := range r.conns {
		b.Write(c.up.Bytes())
		b.Write(c.down.Bytes())
	}
	return b.Bytes()
}

// mechanism is the SASL mechanism the client chose in its INITIATE (sent in the clear at
// every level), "" when there is none in the recording.
func (c *recordedConn) mechanism() string {
	up := c.up.Bytes()
	if len(up) < 7 {
		return ""
	}
	up = up[7:]
	for len(up) >= 4 {
		size := binary.BigEndian.Uint32(up)
		if uint64(len(up)-4) < uint64(size) {
			return ""
		}
		pkt := up[4 : 4+size]
		up = up[4+size:]
		_, rest, err := delimited(pkt)
		if err != nil {
			return ""
		}
		body, _, err := delimited(rest)
		if err != nil {
			return ""
		}
		m := &commonpb.RpcSasl{}
		if proto.Unmarshal(body, m) == nil && m.GetState() == commonpb.RpcSasl_INITIATE && len(m.GetAuths()) > 0 {
			return m.GetAuths()[0].GetMechanism()
		}
	}
	return ""
}

// Hadoop RPC framing of the recorded streams.
const (
	saslCallID = -33
	saslAuth   = 0xDF // the preamble's auth protocol byte for SASL
)

// allWrapped checks a connection (with a whole preamble) on a protected cluster: the client's preamble asks for
// SASL, and every packet either way is a SASL message, the handshake first and then WRAP
// tokens only. A packet cut off by the end of the recording is ignored.
func (c *recordedConn) allWrapped() error {
	up := c.up.Bytes()
	if !bytes.Equal(up[:4], []byte("hrpc")) || up[6] != saslAuth {
		return fmt.Errorf("the client's preamble %x does not ask for SASL", up[:7])
	}
	_, upSuccess, err := saslPackets(up[7:], true)
	if err != nil {
		return fmt.Errorf("client to server: %w", err)
	}
	_, _, err = saslPackets(c.down.Bytes(), false)
	if err != nil {
		return fmt.Errorf("server to client: %w", err)
	}
	if upSuccess {
		return fmt.Errorf("client to server: a SUCCESS from the client")
	}
	// A client that finished the handshake and has sent nothing since (it
	// closed, or the recording ended first) showed nothing: a connection
	// context or request sent in the clear would be a packet of another
	// call id, which saslPackets refuses above.
	return nil
}

// wrapsSent counts the WRAP packets the client sent (0 when the recording
// holds none, or is not SASL).
func (c *recordedConn) wrapsSent() int {
	up := c.up.Bytes()
	if len(up) < 7 {
		return 0
	}
	n, _, err := saslPackets(up[7:], true)
	if err != nil {
		return 0
	}
	return n
}

// saslPackets walks the length-prefixed packets of one direction: each must carry the SASL
// call id and an RpcSaslProto, and none but WRAP after the first WRAP. It counts the WRAP
// packets and reports whether the server's SUCCESS was seen.
func saslPackets(b []byte, request bool) (wraps int, success bool, err error) {
	for n := 0; len(b) >= 4; n++ {
		size := binary.BigEndian.Uint32(b)
		if uint64(len(b)-4) < uint64(size) {
			return wraps, success, nil // cut off by the end of the recording
		}
		pkt := b[4 : 4+size]
		b = b[4+size:]
		hdr, rest, err := delimited(pkt)
		if err != nil {
			return 0, false, fmt.Errorf("packet %d: header: %w", n, err)
		}
		var callID int32
		if request {
			h := &commonpb.RpcRequestHeader{}
			if err := proto.Unmarshal(hdr, h); err != nil {
				return 0, false, fmt.Errorf("packet %d: request header: %w", n, err)
			}
			callID = h.GetCallId()
		} else {
			h := &commonpb.RpcResponseHeader{}
			if err := proto.Unmarshal(hdr, h); err != nil {
				return 0, false, fmt.Errorf("packet %d: response header: %w", n, err)
			}
			callID = int32(h.GetCallId())
			if h.GetStatus() != commonpb.RpcResponseHeader_SUCCESS {
				return 0, false, fmt.Errorf("packet %d: an error response in the clear: %s: %s", n, h.GetExceptionClassName(), h.GetErrorMsg())
			}
		}
		if callID != saslCallID {
			return 0, false, fmt.Errorf("packet %d (%d bytes) is call %d, not a SASL message: it is outside the security layer", n, size, callID)
		}
		body, _, err := delimited(rest)
		if err != nil {
			return 0, false, fmt.Errorf("packet %d: SASL body: %w", n, err)
		}
		m := &commonpb.RpcSasl{}
		if err := proto.Unmarshal(body, m); err != nil {
			return 0, false, fmt.Errorf("packet %d: SASL body: %w", n, err)
		}
		switch st := m.GetState(); {
		case st == commonpb.RpcSasl_WRAP:
			wraps++
		case wraps > 0:
			return 0, false, fmt.Errorf("packet %d: SASL %v after WRAP packets", n, st)
		case st == commonpb.RpcSasl_SUCCESS:
			success = true
		}
	}
	return wraps, success, nil
}

func delimited(b []byte) (msg, rest []byte, err error) {
	n, k := protowire.ConsumeVarint(b)
	if k < 0 || uint64(len(b)-k) < n {
		return nil, nil, fmt.Errorf("bad length prefix")
	}
	return b[k : k+int(n)], b[k+int(n):], nil
}

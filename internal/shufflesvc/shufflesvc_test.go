package shufflesvc

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/stoke-run/stoke/internal/rpc"
	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
)

var buckets = [][]byte{[]byte("zero"), nil, bytes.Repeat([]byte("two"), chunkSize)}

func writeOutput(t *testing.T, dir string, shuffle int32, task int64) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	n, err := WriteMapOutput(dir, shuffle, task, len(buckets), func(b int) ([]byte, error) { return buckets[b], nil })
	if err != nil || n != int64(4+3*chunkSize) {
		t.Fatalf("WriteMapOutput: %d, %v", n, err)
	}
}

func TestFilesRoundTrip(t *testing.T) {
	dir := t.TempDir()
	writeOutput(t, dir, 2, 9)
	for r, want := range buckets {
		got, err := ReadBucket(dir, 2, 9, int32(r))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("bucket %d: %d bytes, %v", r, len(got), err)
		}
	}
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "shuffle_2_9.data shuffle_2_9.index" {
		t.Fatalf("files %v: temporary files left or names differ", names)
	}
	for _, tc := range []struct {
		reduce int32
		msg    string
	}{{3, "bucket 3 outside 0..2"}, {-1, "bucket -1 outside"}} {
		if _, err := ReadBucket(dir, 2, 9, tc.reduce); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("reduce %d: %v", tc.reduce, err)
		}
	}
	if _, err := ReadBucket(dir, 2, 10, 0); err == nil || !strings.Contains(err.Error(), "not on this shuffle service") {
		t.Errorf("missing output: %v", err)
	}
	if _, err := WriteMapOutput(dir, 1, 1, 0, nil); err == nil {
		t.Error("an output of no buckets was written")
	}
	// A bucket that cannot be read leaves no file behind.
	if _, err := WriteMapOutput(dir, 3, 1, 2, func(int) ([]byte, error) { return nil, errors.New("gone") }); err == nil {
		t.Error("a failed write reported success")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Errorf("a failed write left %d files", len(ents)-2)
	}
}

// A corrupt index never makes the reader leave the data file.
func TestCorruptIndexIsRefused(t *testing.T) {
	dir := t.TempDir()
	writeOutput(t, dir, 1, 1)
	idx := filepath.Join(dir, "shuffle_1_1.index")
	put := func(b []byte) {
		if err := os.WriteFile(idx, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	offsets := func(v ...int64) []byte {
		b := make([]byte, 8*len(v))
		for i, x := range v {
			binary.BigEndian.PutUint64(b[8*i:], uint64(x))
		}
		return b
	}
	for _, tc := range []struct {
		name  string
		index []byte
		msg   string
	}{
		{"odd size", []byte("1234567"), "7 bytes is not an index"},
		{"one offset", offsets(0), "8 bytes is not an index"},
		{"past the data", offsets(0, 1<<40), "outside the"},
		{"backwards", offsets(10, 5), "outside the"},
		{"negative", offsets(-8, 0), "outside the"},
	} {
		put(tc.index)
		if _, err := ReadBucket(dir, 1, 1, 0); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

// Block names from the network are three plain numbers: nothing else can
// reach the file system.
func TestParseBlockNameRefusesAnythingElse(t *testing.T) {
	if sh, m, r, err := ParseBlockName("shuffle_3_123456789012_7"); err != nil || sh != 3 || m != 123456789012 || r != 7 {
		t.Fatalf("valid name: %d %d %d %v", sh, m, r, err)
	}
	for _, name := range []string{
		"", "shuffle", "shuffle_1_2", "shuffle_1_2_3_4", "result_1", "rdd_1_2_3",
		"shuffle_-1_2_3", "shuffle_1_-2_3", "shuffle_+1_2_3", "shuffle_1_2_ 3", "shuffle_1_2_0x3",
		"shuffle_../../etc/passwd_1_2", "shuffle_1_2_3/../../x", "shuffle_1_..%2f_3", "shuffle_99999999999_1_1",
		"shuffle_1_2_3\x00", "SHUFFLE_1_2_3",
	} {
		if _, _, _, err := ParseBlockName(name); err == nil || !strings.Contains(err.Error(), "malformed shuffle block name") {
			t.Errorf("%q: %v", name, err)
		}
	}
}

var appIDPattern = regexp.MustCompile(`^app-[0-9]{14}-[0-9]{4,9}$`)

func serve(t *testing.T, s *Server) string {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(rpc.ServerLimits(8 << 20)...)
	s.Register(srv)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

func fetch(t *testing.T, addr, secret, app, block string) ([]byte, error) {
	t.Helper()
	cc, err := grpc.NewClient(addr, append(rpc.DialOptions(secret, 8<<20), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	stream, err := pb.NewExecutorClient(cc).FetchBlocks(context.Background(), &pb.FetchRequest{Blocks: []string{block}, AppId: app})
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

// The service serves an application's files to its secret only: another
// application's secret, no secret, an application it does not know or an
// id that is not one are refused alike, before any file is touched; ids
// in block names never leave the application's directory.
func TestServiceAuthenticatesEveryApplication(t *testing.T) {
	root := t.TempDir()
	const a, b = "app-20261204070000-0001", "app-20261204070000-0002"
	s := NewServer(root, appIDPattern.MatchString)
	s.AddApp(a, "secret-a")
	s.AddApp(b, "secret-b")
	s.AddApp("../../etc", "x") // not an application id: ignored
	writeOutput(t, s.Dir(a), 1, 5)
	writeOutput(t, s.Dir(b), 1, 6)
	// A file outside any application's shuffle directory.
	if err := os.WriteFile(filepath.Join(root, "shuffle_1_7.index"), make([]byte, 16), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := serve(t, s)
	got, err := fetch(t, addr, "secret-a", a, "shuffle_1_5_2")
	if err != nil || !bytes.Equal(got, buckets[2]) {
		t.Fatalf("own application: %d bytes, %v", len(got), err)
	}
	for _, tc := range []struct{ name, secret, app, block string }{
		{"another application's secret", "secret-b", a, "shuffle_1_5_0"},
		{"wrong secret", "guess", a, "shuffle_1_5_0"},
		{"no secret", "", a, "shuffle_1_5_0"},
		{"unknown application", "secret-a", "app-20261204070000-0003", "shuffle_1_5_0"},
		{"no application", "secret-a", "", "shuffle_1_5_0"},
		{"traversal in the application id", "x", "../../etc", "shuffle_1_7_0"},
		{"traversal to another application", "secret-a", a + "/../" + b, "shuffle_1_6_0"},
	} {
		_, err := fetch(t, addr, tc.secret, tc.app, tc.block)
		if status.Code(err) != codes.Unauthenticated {
			t.Errorf("%s: err = %v, want Unauthenticated", tc.name, err)
		}
	}
	// With its own secret, an application reaches only its own files.
	for _, block := range []string{"shuffle_1_6_0", "shuffle_1_7_0", "shuffle_../" + b + "/shuffle_1_6_0", "shuffle_1_5_../../x"} {
		if _, err := fetch(t, addr, "secret-a", a, block); err == nil {
			t.Errorf("block %q of another directory was served", block)
		}
	}
	if apps := s.Apps(); len(apps) != 2 {
		t.Errorf("serving %v, want the two applications", apps)
	}
	// An application that ended is no longer served.
	s.RemoveApp(a)
	if apps := s.Apps(); len(apps) != 1 || apps[0] != b {
		t.Errorf("serving %v after %s ended", apps, a)
	}
	if _, err := fetch(t, addr, "secret-a", a, "shuffle_1_5_0"); status.Code(err) != codes.Unauthenticated {
		t.Errorf("after the application ended: %v", err)
	}
	if s.Dir("../x") != "" || s.Dir("") != "" {
		t.Error("Dir of an id that is not one")
	}
}

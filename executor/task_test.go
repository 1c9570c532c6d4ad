package executor

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"pgregory.net/rapid"

	"github.com/stoke-run/stoke/internal/rpc"
	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
)

// Every line of a file is read exactly once, whatever the split size.
func TestTextSplitsCoverEveryLineOnce(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		lines := rapid.SliceOfN(rapid.StringMatching(`[a-z ]{0,12}`), 0, 40).Draw(t, "lines")
		trailing := rapid.Bool().Draw(t, "trailingNewline")
		crlf := rapid.Bool().Draw(t, "crlf")
		sep := "\n"
		if crlf {
			sep = "\r\n"
		}
		content := strings.Join(lines, sep)
		if trailing && len(lines) > 0 {
			content += sep
		}
		path := filepath.Join(os.TempDir(), fmt.Sprintf("stoke-split-%d.txt", os.Getpid()))
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(path)
		size := int64(len(content))
		split := rapid.Int64Range(1, max(size, 1)+3).Draw(t, "split")
		var got []string
		for off := int64(0); off < size; off += split {
			err := readLines(&pb.TextSplit{Path: path, Start: off, Length: min(split, size-off)}, func(l string) bool {
				got = append(got, l)
				return true
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		want := lines
		if content == "" {
			want = nil
		} else if !trailing && len(lines) > 0 && lines[len(lines)-1] == "" {
			want = lines[:len(lines)-1] // a final empty line without newline is no line
		}
		if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
			t.Fatalf("split %d of %q:\n got %q\nwant %q", split, content, got, want)
		}
	})
}

func TestBlockStoreRejectsMalformedNames(t *testing.T) {
	s := NewBlockStore()
	s.PutShuffle(1, 7, [][]byte{[]byte("a"), []byte("b")})
	if b, err := s.Get(ShuffleBlockName(1, 7, 1)); err != nil || string(b) != "b" {
		t.Fatalf("get = %q, %v", b, err)
	}
	for _, name := range []string{"", "shuffle_1_7", "shuffle_x_7_1", "shuffle_1_7_9", "shuffle_1_7_-1", "result_", "result_abc", "nonsense_1", "shuffle_1_8_0"} {
		if _, err := s.Get(name); err == nil {
			t.Errorf("Get(%q) succeeded", name)
		}
	}
	name := s.PutResult(3, []byte("res"))
	if b, err := s.Get(name); err != nil || string(b) != "res" {
		t.Fatalf("result = %q, %v", b, err)
	}
	if _, err := s.Get(name); err == nil {
		t.Error("a result block can be read twice")
	}
}

func serveBlocks(t *testing.T, secret string, store *BlockStore) string {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(rpc.ServerOptions(secret, 8<<20)...)
	RegisterBlockService(srv, store)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

// Blocks larger than a chunk arrive whole; a wrong secret is refused.
func TestBlockServiceChunksAndAuth(t *testing.T) {
	store := NewBlockStore()
	big := []byte(strings.Repeat("0123456789", 350_000)) // 3.5 MB: four chunks
	store.PutShuffle(2, 5, [][]byte{nil, big})
	addr := serveBlocks(t, "s3cret", store)

	c := NewBlockClient("s3cret", 8<<20, rpc.TLS{})
	defer c.Close()
	got, err := c.Fetch(context.Background(), addr, ShuffleBlockName(2, 5, 1))
	if err != nil || string(got) != string(big) {
		t.Fatalf("fetch: %d bytes, %v", len(got), err)
	}
	if _, err := c.Fetch(context.Background(), addr, ShuffleBlockName(2, 6, 1)); err == nil || !strings.Contains(err.Error(), "not on this executor") {
		t.Fatalf("missing block: err = %v", err)
	}
	bad := NewBlockClient("wrong", 8<<20, rpc.TLS{})
	defer bad.Close()
	if _, err := bad.Fetch(context.Background(), addr, ShuffleBlockName(2, 5, 1)); err == nil || !strings.Contains(err.Error(), "secret") {
		t.Fatalf("wrong secret: err = %v", err)
	}
}

func TestRunReportsPanicsAndUnknownFunctions(t *testing.T) {
	env := &Env{Blocks: NewBlockStore()}
	st := Run(context.Background(), env, &pb.TaskDesc{
		TaskId: 1,
		Source: &pb.Source{Kind: &pb.Source_Parallelize{}, Type: "string"},
		Steps:  []*pb.Step{{Func: "no.such.function"}},
		Sink:   &pb.Sink{Kind: &pb.Sink_Count{Count: true}},
	})
	if st.State != pb.TaskState_FAILED || !strings.Contains(st.Error, `function "no.such.function" is not registered`) {
		t.Fatalf("status = %v %q", st.State, st.Error)
	}
	st = Run(context.Background(), env, &pb.TaskDesc{TaskId: 2, Source: &pb.Source{Kind: &pb.Source_Parallelize{}, Type: "no.such.Type"}, Sink: &pb.Sink{Kind: &pb.Sink_Count{Count: true}}})
	if st.State != pb.TaskState_FAILED || !strings.Contains(st.Error, "not registered") {
		t.Fatalf("status = %v %q", st.State, st.Error)
	}
	st = Run(context.Background(), env, &pb.TaskDesc{TaskId: 3, Source: &pb.Source{Kind: &pb.Source_Parallelize{Parallelize: []byte("garbage")}, Type: "string"}, Sink: &pb.Sink{Kind: &pb.Sink_Count{Count: true}}})
	if st.State != pb.TaskState_FAILED || !strings.Contains(st.Error, "decoding") {
		t.Fatalf("malformed partition data: status = %v %q", st.State, st.Error)
	}
	st = Run(context.Background(), env, &pb.TaskDesc{TaskId: 4, Source: &pb.Source{Kind: &pb.Source_Text{Text: &pb.TextSplit{Path: "/no/such/file", Length: 10}}}, Sink: &pb.Sink{Kind: &pb.Sink_Count{Count: true}}})
	if st.State != pb.TaskState_FAILED || !strings.Contains(st.Error, "/no/such/file") {
		t.Fatalf("missing input file: status = %v %q", st.State, st.Error)
	}
}

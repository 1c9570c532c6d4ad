package coarse

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/stoke-run/stoke/internal/conf"
	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
	"github.com/stoke-run/stoke/internal/shared"
)

func startWithBlockSize(t *testing.T, blockSize string) *Server {
	t.Helper()
	c := conf.New()
	c.Set(shared.BlockSizeKey, blockSize, conf.SourceCode)
	s, err := NewServer(Options{Secret: "s3cret", Log: logrus.New(), NetworkTimeout: 2 * time.Second, Conf: c})
	if err != nil {
		t.Fatal(err)
	}
	s.Attach(&fakeDriver{})
	t.Cleanup(s.Stop)
	return s
}

// fetchChunks reads a FetchBroadcast stream to its end.
func fetchChunks(c pb.DriverClient, name string) ([]*pb.BroadcastChunk, error) {
	stream, err := c.FetchBroadcast(context.Background(), &pb.BroadcastRequest{Name: name, ExecutorId: "1"})
	if err != nil {
		return nil, err
	}
	var out []*pb.BroadcastChunk
	for {
		ch, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, ch)
	}
}

func TestFetchBroadcastInChunks(t *testing.T) {
	s := startWithBlockSize(t, "1k")
	value := bytes.Repeat([]byte("0123456789"), 1000) // 10,000 bytes: 10 chunks of 1 KiB
	if _, err := shared.Publish("coarse.test.chunks", value); err != nil {
		t.Fatal(err)
	}
	before := shared.Fetches("coarse.test.chunks")
	c := client(t, s, "s3cret")
	chunks, err := fetchChunks(c, "coarse.test.chunks")
	if err != nil {
		t.Fatal(err)
	}
	if len(chunks) != 10 {
		t.Fatalf("%d chunks, want 10", len(chunks))
	}
	for i, ch := range chunks {
		if len(ch.Data) > 1024 || int(ch.Index) != i || ch.Count != 10 || ch.TotalSize != int64(len(value)) || ch.Crc32C != shared.Checksum(value) {
			t.Fatalf("chunk %d: index %d count %d size %d data %d bytes", i, ch.Index, ch.Count, ch.TotalSize, len(ch.Data))
		}
	}
	next := 0
	_, got, err := shared.Receive(func() (*pb.BroadcastChunk, error) {
		if next == len(chunks) {
			return nil, io.EOF
		}
		next++
		return chunks[next-1], nil
	}, 0)
	if err != nil || !bytes.Equal(got, value) {
		t.Fatalf("reassembled %d bytes, err %v", len(got), err)
	}
	if n := shared.Fetches("coarse.test.chunks") - before; n != 1 {
		t.Fatalf("%d fetches counted, want 1", n)
	}
}

func TestFetchBroadcastRefusals(t *testing.T) {
	s := startWithBlockSize(t, "4k")
	if _, err := shared.Publish("coarse.test.secret", []byte("hidden")); err != nil {
		t.Fatal(err)
	}
	before := shared.Fetches("coarse.test.secret")
	chunks, err := fetchChunks(client(t, s, "wrong"), "coarse.test.secret")
	if status.Code(err) != codes.Unauthenticated || len(chunks) != 0 {
		t.Fatalf("wrong secret: %d chunks, err %v", len(chunks), err)
	}
	if n := shared.Fetches("coarse.test.secret") - before; n != 0 {
		t.Fatalf("%d fetches served with a wrong secret", n)
	}
	c := client(t, s, "s3cret")
	if _, err := fetchChunks(c, "coarse.test.nosuch"); status.Code(err) != codes.NotFound || !strings.Contains(err.Error(), "has no value") {
		t.Fatalf("unknown variable: %v", err)
	}
	if _, err := fetchChunks(c, ""); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("empty name: %v", err)
	}
	if _, err := shared.Publish("coarse.test.gone", []byte("x")); err != nil {
		t.Fatal(err)
	}
	shared.Destroy("coarse.test.gone")
	if _, err := fetchChunks(c, "coarse.test.gone"); status.Code(err) != codes.NotFound || !strings.Contains(err.Error(), "destroyed") {
		t.Fatalf("destroyed variable: %v", err)
	}
	if _, err := shared.Publish("coarse.test.gone", []byte("y")); err != nil {
		t.Fatal(err)
	}
	if chunks, err := fetchChunks(c, "coarse.test.gone"); err != nil || len(chunks) != 1 || string(chunks[0].Data) != "y" {
		t.Fatalf("published again after Destroy: %v, %v", chunks, err)
	}
}

func TestBadBroadcastBlockSizeRefused(t *testing.T) {
	c := conf.New()
	c.Set(shared.BlockSizeKey, "0", conf.SourceCode)
	if _, err := NewServer(Options{Secret: "x", Log: logrus.New(), Conf: c}); err == nil || !strings.Contains(err.Error(), shared.BlockSizeKey) {
		t.Fatalf("block size 0: %v", err)
	}
}

func TestReleaseBroadcastsReachesExecutors(t *testing.T) {
	s := startWithBlockSize(t, "4m")
	c := client(t, s, "s3cret")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := c.Register(ctx, register("9")); err != nil {
		t.Fatal(err)
	}
	stream, err := c.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stream.Send(&pb.ExecutorMessage{Msg: &pb.ExecutorMessage_Hello{Hello: &pb.Hello{ExecutorId: "9"}}})
	waitUntil(t, func() bool { return s.NumExecutors() == 1 })
	s.ReleaseBroadcasts([]string{"a", "b"})
	msg, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if got := msg.GetRelease().GetBroadcasts(); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Fatalf("release message %v", msg)
	}
}

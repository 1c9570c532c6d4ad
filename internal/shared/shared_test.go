package shared

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/protobuf/proto"
	"pgregory.net/rapid"

	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
)

// served publishes value under name and returns the chunks Serve sends.
func served(t testing.TB, name string, value []byte, blockSize int) []*pb.BroadcastChunk {
	if _, err := Publish(name, value); err != nil {
		t.Fatal(err)
	}
	var out []*pb.BroadcastChunk
	if err := Serve(name, blockSize, func(c *pb.BroadcastChunk) error {
		out = append(out, proto.Clone(c).(*pb.BroadcastChunk))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func replay(chunks []*pb.BroadcastChunk) func() (*pb.BroadcastChunk, error) {
	i := 0
	return func() (*pb.BroadcastChunk, error) {
		if i == len(chunks) {
			return nil, io.EOF
		}
		i++
		return chunks[i-1], nil
	}
}

// Any value served in any chunk size comes back whole.
func TestBroadcastServeReceiveRoundTrip(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		value := rapid.SliceOfN(rapid.Byte(), 0, 5000).Draw(rt, "value")
		block := rapid.IntRange(1, 2000).Draw(rt, "block")
		chunks := served(t, "shared.test.roundtrip", value, block)
		want := max(1, (len(value)+block-1)/block)
		if len(chunks) != want {
			rt.Fatalf("%d chunks of %d bytes for %d bytes, want %d", len(chunks), block, len(value), want)
		}
		_, got, err := Receive(replay(chunks), 0)
		if err != nil || !bytes.Equal(got, value) {
			rt.Fatalf("got %d bytes, err %v", len(got), err)
		}
	})
}

// Every corruption of a served stream is refused.
func TestBroadcastReceiveRefusesMalformedStreams(t *testing.T) {
	value := bytes.Repeat([]byte("abcdefgh"), 100)                                                 // 800 bytes
	fresh := func() []*pb.BroadcastChunk { return served(t, "shared.test.malformed", value, 100) } // 8 chunks
	cases := []struct {
		name   string
		mangle func([]*pb.BroadcastChunk) []*pb.BroadcastChunk
		max    int64
		want   string
	}{
		{"wrong checksum", func(c []*pb.BroadcastChunk) []*pb.BroadcastChunk {
			for _, ch := range c {
				ch.Crc32C ^= 1
			}
			return c
		}, 0, "checksum"},
		{"flipped byte", func(c []*pb.BroadcastChunk) []*pb.BroadcastChunk {
			c[3].Data = append([]byte(nil), c[3].Data...)
			c[3].Data[7] ^= 0x40
			return c
		}, 0, "checksum"},
		{"missing chunk", func(c []*pb.BroadcastChunk) []*pb.BroadcastChunk { return append(c[:2:2], c[3:]...) }, 0, "expected chunk 2"},
		{"chunks swapped", func(c []*pb.BroadcastChunk) []*pb.BroadcastChunk { c[1], c[2] = c[2], c[1]; return c }, 0, "expected chunk 1"},
		{"truncated", func(c []*pb.BroadcastChunk) []*pb.BroadcastChunk { return c[:5] }, 0, "after 5 of 8 chunks"},
		{"extra chunk", func(c []*pb.BroadcastChunk) []*pb.BroadcastChunk {
			extra := proto.Clone(c[7]).(*pb.BroadcastChunk)
			extra.Index = 8
			return append(c, extra)
		}, 0, "expected chunk 8 of 8"},
		{"chunk too long", func(c []*pb.BroadcastChunk) []*pb.BroadcastChunk {
			c[7].Data = append(append([]byte(nil), c[7].Data...), 'x')
			return c
		}, 0, "exceed"},
		{"header differs", func(c []*pb.BroadcastChunk) []*pb.BroadcastChunk { c[4].Version++; return c }, 0, "header differs"},
		{"size differs", func(c []*pb.BroadcastChunk) []*pb.BroadcastChunk { c[4].TotalSize--; return c }, 0, "header differs"},
		{"no chunks", func([]*pb.BroadcastChunk) []*pb.BroadcastChunk { return nil }, 0, "no chunks"},
		{"zero count", func(c []*pb.BroadcastChunk) []*pb.BroadcastChunk {
			for _, ch := range c {
				ch.Count = 0
			}
			return c
		}, 0, "0 chunks announced"},
		{"negative size", func(c []*pb.BroadcastChunk) []*pb.BroadcastChunk {
			for _, ch := range c {
				ch.TotalSize = -1
			}
			return c
		}, 0, "-1 bytes announced"},
		{"too large", func(c []*pb.BroadcastChunk) []*pb.BroadcastChunk { return c }, 799, "800 bytes announced"},
		{"short of the size", func(c []*pb.BroadcastChunk) []*pb.BroadcastChunk {
			c[7].Data = c[7].Data[:50]
			return c
		}, 0, "750 bytes, 800 were announced"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, data, err := Receive(replay(tc.mangle(fresh())), tc.max)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v (got %d bytes), want one mentioning %q", err, len(data), tc.want)
			}
		})
	}
	// A transport error is passed on.
	boom := errors.New("connection reset")
	if _, _, err := Receive(func() (*pb.BroadcastChunk, error) { return nil, boom }, 0); !errors.Is(err, boom) {
		t.Fatalf("transport error: %v", err)
	}
}

func TestBroadcastServeRefusesUnknownAndDestroyed(t *testing.T) {
	send := func(*pb.BroadcastChunk) error { t.Fatal("a chunk was sent"); return nil }
	if err := Serve("shared.test.never", 10, send); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown: %v", err)
	}
	served(t, "shared.test.destroy", []byte("v"), 10)
	Destroy("shared.test.destroy")
	if err := Serve("shared.test.destroy", 10, send); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "destroyed") {
		t.Fatalf("destroyed: %v", err)
	}
	if !Destroyed("shared.test.destroy") {
		t.Fatal("Destroyed is false")
	}
}

// An executor fetches each value once for all its concurrent readers,
// again after Drop, and again after a failed fetch.
func TestBroadcastCacheFetchesOnce(t *testing.T) {
	var fetches atomic.Int32
	fail := atomic.Bool{}
	gate := make(chan struct{})
	remove := SetFetcher(func(name string) (int64, []byte, error) {
		fetches.Add(1)
		<-gate
		if fail.Load() {
			return 0, nil, errors.New("driver unreachable")
		}
		return 1, []byte(name), nil
	})
	defer remove()
	if !InExecutor() {
		t.Fatal("InExecutor false with a fetcher")
	}
	decode := func(b []byte) (any, error) { return string(b), nil }
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := Get("shared.test.cache", decode)
			if err != nil || v != "shared.test.cache" {
				t.Errorf("Get = %v, %v", v, err)
			}
		}()
	}
	close(gate)
	wg.Wait()
	if n := fetches.Load(); n != 1 {
		t.Fatalf("%d fetches for 16 concurrent readers", n)
	}
	Get("shared.test.cache", decode)
	if n := fetches.Load(); n != 1 {
		t.Fatalf("%d fetches after a cached read", n)
	}
	Drop([]string{"shared.test.cache"})
	if Cached("shared.test.cache") {
		t.Fatal("still cached after Drop")
	}
	Get("shared.test.cache", decode)
	if n := fetches.Load(); n != 2 {
		t.Fatalf("%d fetches after Drop, want 2", n)
	}
	fail.Store(true)
	for i := 0; i < 2; i++ {
		if _, err := Get("shared.test.failing", decode); err == nil || !strings.Contains(err.Error(), "unreachable") {
			t.Fatalf("failing fetch: %v", err)
		}
	}
	if n := fetches.Load(); n != 4 {
		t.Fatalf("%d fetches, want a retry after the failed one (4)", n)
	}
	if _, err := Get("shared.test.bad", func([]byte) (any, error) { return nil, fmt.Errorf("undecodable") }); err == nil {
		t.Fatal("a value that does not decode was returned")
	}
	remove()
	if InExecutor() {
		t.Fatal("InExecutor true after the fetcher was removed")
	}
}

var testTotal int

func init() {
	RegisterAccum(&Accum{Name: "shared.test.sum", MergeEncoded: func(b []byte) error {
		if len(b) != 1 {
			return fmt.Errorf("want one byte, got %d", len(b))
		}
		testTotal += int(b[0])
		return nil
	}})
	RegisterAccum(&Accum{Name: "shared.test.panics", MergeEncoded: func([]byte) error { panic("user merge bug") }})
}

func TestAccumTaskUpdatesAndMerge(t *testing.T) {
	testTotal = 0
	tk := NewTask(&pb.TaskDesc{TaskId: 3, Partition: 1, Attempt: 2}, "e1")
	add := func(name string, n int) {
		p := tk.Partial(name, func() Partial { return &bytePartial{} }).(*bytePartial)
		p.v += n
	}
	for i := 1; i <= 4; i++ {
		add("shared.test.sum", i)
	}
	add("shared.test.panics", 1)
	ups, err := tk.Updates()
	if err != nil || len(ups) != 2 || ups[0].Name != "shared.test.panics" || ups[1].Name != "shared.test.sum" {
		t.Fatalf("updates %v, err %v", ups, err)
	}
	err = MergeUpdates(ups)
	if err == nil || !strings.Contains(err.Error(), "user merge bug") {
		t.Fatalf("a panicking merge: %v", err)
	}
	if testTotal != 10 {
		t.Fatalf("total %d, want 10", testTotal)
	}
	tk.Partial("shared.test.bad", func() Partial { return &bytePartial{fail: true} })
	if _, err := tk.Updates(); err == nil || !strings.Contains(err.Error(), "shared.test.bad") {
		t.Fatalf("unencodable update: %v", err)
	}
	defer func() {
		if r := recover(); r == nil {
			t.Fatal("a second registration of one name did not panic")
		}
	}()
	RegisterAccum(&Accum{Name: "shared.test.sum", MergeEncoded: func([]byte) error { return nil }})
}

// bytePartial is a partial value that encodes as one byte (or fails).
type bytePartial struct {
	v    int
	fail bool
}

func (p *bytePartial) Encode() ([]byte, error) {
	if p.fail {
		return nil, errors.New("cannot encode")
	}
	return []byte{byte(p.v)}, nil
}

package recordio

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	recs := []string{"a", "hello world", strings.Repeat("x", 70000)}
	for _, r := range recs {
		if err := w.WriteRecord([]byte(r)); err != nil {
			t.Fatal(err)
		}
	}
	rd := NewReader(&buf, 0)
	for _, want := range recs {
		got, err := rd.ReadRecord()
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Fatalf("got %q want %q", got, want)
		}
	}
	if _, err := rd.ReadRecord(); err != io.EOF {
		t.Fatalf("want io.EOF at the end, got %v", err)
	}
}

func TestMalformed(t *testing.T) {
	cases := []struct{ in, want string }{
		{"5\nabc", "only 3 followed"},
		{"abc\nxyz", `contains byte 'a'`},
		{"\nabc", "empty length header"},
		{"0\n", "record length 0"},
		{"12", "no line feed"},
		{"99999999999999999999999\n", "exceeds the limit"},
		{"3\nabc-1\n", "contains byte '-' at byte 5"},
		{"2000\n", "exceeds the limit of 1024"},
	}
	for _, c := range cases {
		rd := NewReader(strings.NewReader(c.in), 1024)
		var err error
		for err == nil {
			_, err = rd.ReadRecord()
		}
		var fe *FrameError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want a FrameError containing %q", c.in, err, c.want)
		}
	}
}

// FuzzReader checks that no input panics, that errors are either io.EOF or
// a *FrameError, and that records re-framed read back identically.
func FuzzReader(f *testing.F) {
	for _, s := range []string{"1\na", "3\nabc2\nxy", "0\n", "\n", "5\nab", "x\n", "18446744073709551616\n", "4\nabcd4\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		rd := NewReader(bytes.NewReader(in), 1<<16)
		var recs [][]byte
		for {
			rec, err := rd.ReadRecord()
			if err == io.EOF {
				break
			}
			if err != nil {
				var fe *FrameError
				if !errors.As(err, &fe) {
					t.Fatalf("unexpected error type %T: %v", err, err)
				}
				if fe.Offset < 0 || fe.Offset > int64(len(in)) {
					t.Fatalf("offset %d out of range", fe.Offset)
				}
				return
			}
			if len(rec) == 0 {
				t.Fatal("empty record returned")
			}
			recs = append(recs, rec)
		}
		var buf bytes.Buffer
		w := NewWriter(&buf)
		for _, r := range recs {
			_ = w.WriteRecord(r)
		}
		rd = NewReader(&buf, 1<<16)
		for i, want := range recs {
			got, err := rd.ReadRecord()
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("record %d: got %q, %v", i, got, err)
			}
		}
	})
}

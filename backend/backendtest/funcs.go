package backendtest

import (
	"fmt"
	"iter"
	"os"
	"strings"
	"time"
	"unicode"

	"github.com/stoke-run/stoke"
)

// The suite's task functions, registered at init like any application's.
var (
	tokenize = stoke.RegisterFlatMap("backendtest.tokenize", func(line string) []string {
		return strings.FieldsFunc(strings.ToLower(line), func(r rune) bool { return !unicode.IsLetter(r) })
	})
	pairOne  = stoke.RegisterMap("backendtest.pairOne", func(w string) stoke.KV[string, int] { return stoke.KV[string, int]{Key: w, Value: 1} })
	sumInts  = stoke.RegisterReduceByKey[string, int]("backendtest.sum", func(a, b int) int { return a + b })
	groupInt = stoke.RegisterGroupByKey[string, int]("backendtest.group")
	joinSI   = stoke.RegisterJoin[string, int, string]("backendtest.join")
	isEven   = stoke.RegisterFilter("backendtest.even", func(n int) bool { return n%2 == 0 })
	square   = stoke.RegisterMap("backendtest.square", func(n int) int { return n * n })
	addInts  = stoke.RegisterReduce("backendtest.add", func(a, b int) int { return a + b })
	runSums  = stoke.RegisterMapPartitions("backendtest.partitionSum", func(in iter.Seq[int]) iter.Seq[int] {
		return func(yield func(int) bool) {
			s := 0
			for n := range in {
				s += n
			}
			yield(s)
		}
	})
	keyMod = stoke.RegisterMap("backendtest.keyMod", func(n int) stoke.KV[string, int] {
		return stoke.KV[string, int]{Key: fmt.Sprintf("k%d", n%7), Value: n}
	})
	failOn13 = stoke.RegisterForeach("backendtest.failOn13", func(n int) {
		if n == 13 {
			panic("thirteen is unlucky")
		}
	})
	// slowMap sleeps for the record's Sleep, to keep slots busy.
	slowMap = stoke.RegisterMap("backendtest.slow", func(r SlowRecord) int {
		time.Sleep(r.Sleep)
		return r.ID
	})
	// straggle sleeps long the first time it sees a record marked as the
	// straggler (the marker directory records that across processes), and
	// is fast for every other record and every later attempt.
	straggle = stoke.RegisterMap("backendtest.straggle", func(r StraggleRecord) int {
		if r.Straggler && os.Mkdir(r.Marker, 0o755) == nil {
			time.Sleep(r.Hold)
		} else {
			time.Sleep(r.Normal)
		}
		return r.ID
	})
	// gateKey waits until the record's marker file exists (a hang guard
	// of two minutes), then keys the record like keyMod.
	gateKey = stoke.RegisterMap("backendtest.gateKey", func(r GateRecord) stoke.KV[string, int] {
		for end := time.Now().Add(2 * time.Minute); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
			if _, err := os.Stat(r.Marker); err == nil {
				break
			}
		}
		return stoke.KV[string, int]{Key: fmt.Sprintf("k%d", r.ID%7), Value: r.ID}
	})
	bigString = stoke.RegisterMap("backendtest.big", func(n int) string { return strings.Repeat("x", n) })
)

// SlowRecord is a record that takes Sleep to process.
type SlowRecord struct {
	ID    int
	Sleep time.Duration
}

// StraggleRecord drives the speculation test.
type StraggleRecord struct {
	ID        int
	Straggler bool
	Marker    string
	Hold      time.Duration
	Normal    time.Duration
}

// GateRecord is a record whose task waits until the test creates Marker:
// the dynamic allocation test holds a burst until executors have grown.
type GateRecord struct {
	ID     int
	Marker string
}

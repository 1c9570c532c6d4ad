// Command gen writes the deterministic inputs of the Stoke-vs-Spark
// benchmarks (scripts/bench-vs-spark.sh):
//
//	gen text -size 1g -out words.txt
//	gen kv   -size 1g -out kv.txt
//	gen join -small-size 200m -small small.txt -big-size 1g -big big.txt
//
// text is lines of 10–20 words drawn with a Zipf distribution from a
// vocabulary of 50,000 lowercase words of 3–12 letters; kv is "key\tvalue"
// lines (10-character keys, values of 80–100 characters); join writes a side
// with unique keys and a bigger side whose every key is one of the small
// side's. The same flags and seed always give the same bytes. A file that
// already exists with the requested size is kept (delete it to regenerate);
// files are written under a temporary name and renamed when complete.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

const usage = `usage:
  gen text -size SIZE -out FILE [-seed N] [-zipf S]
  gen kv   -size SIZE -out FILE [-seed N] [-per-key N]
  gen join -small-size SIZE -small FILE -big-size SIZE -big FILE [-seed N]
SIZE is bytes, or a number with k, m or g (KiB, MiB, GiB): 32m, 1g.`

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(args []string, log io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	fs := flag.NewFlagSet("gen "+args[0], flag.ContinueOnError)
	seed := fs.Uint64("seed", 1, "random seed: the same seed and sizes give the same bytes")
	switch args[0] {
	case "text":
		size := fs.String("size", "", "bytes to write (e.g. 32m, 1g)")
		out := fs.String("out", "", "output file")
		s := fs.Float64("zipf", 1.1, "Zipf exponent of the word frequencies (> 1)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		n, err := parseSize("-size", *size)
		if err != nil {
			return err
		}
		if *out == "" {
			return errors.New("gen text: -out FILE is required")
		}
		if *s <= 1 {
			return fmt.Errorf("gen text: -zipf must be greater than 1, got %v", *s)
		}
		return ensure(log, *out, n, func(w *bufio.Writer) error { return writeText(w, n, *seed, *s) })
	case "kv":
		size := fs.String("size", "", "bytes to write (e.g. 32m, 1g)")
		out := fs.String("out", "", "output file")
		perKey := fs.Int("per-key", 10, "average number of lines per distinct key (1: every key drawn at random)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		n, err := parseSize("-size", *size)
		if err != nil {
			return err
		}
		if *out == "" {
			return errors.New("gen kv: -out FILE is required")
		}
		if *perKey < 1 {
			return fmt.Errorf("gen kv: -per-key must be at least 1, got %d", *perKey)
		}
		return ensure(log, *out, n, func(w *bufio.Writer) error { return writeKV(w, n, *seed, *perKey) })
	case "join":
		smallSize := fs.String("small-size", "", "bytes of the side with unique keys (e.g. 200m)")
		bigSize := fs.String("big-size", "", "bytes of the side whose keys are drawn from the small side's (e.g. 1g)")
		small := fs.String("small", "", "output file of the small side")
		big := fs.String("big", "", "output file of the big side")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		ns, err := parseSize("-small-size", *smallSize)
		if err != nil {
			return err
		}
		nb, err := parseSize("-big-size", *bigSize)
		if err != nil {
			return err
		}
		if *small == "" || *big == "" {
			return errors.New("gen join: -small FILE and -big FILE are required")
		}
		// The big side needs the small side's keys; they are regenerated
		// from the seed, so either file can be (re)made alone.
		keys := joinKeys(ns, *seed)
		if err := ensure(log, *small, ns, func(w *bufio.Writer) error { return writeJoinSmall(w, ns, *seed, keys) }); err != nil {
			return err
		}
		return ensure(log, *big, nb, func(w *bufio.Writer) error { return writeJoinBig(w, nb, ns, *seed, keys) })
	default:
		return fmt.Errorf("unknown input kind %q\n%s", args[0], usage)
	}
}

// parseSize reads a byte count: digits with an optional k, m or g suffix
// (powers of 1024, case-insensitive, an optional trailing "b" or "ib").
func parseSize(flagName, s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "b"), "i")
	mult := int64(1)
	if t != "" {
		switch t[len(t)-1] {
		case 'k':
			mult = 1 << 10
		case 'm':
			mult = 1 << 20
		case 'g':
			mult = 1 << 30
		}
		if mult > 1 {
			t = t[:len(t)-1]
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 || n > (1<<50)/mult {
		return 0, fmt.Errorf("%s must be a positive size like 33554432, 32m or 1g, got %q", flagName, s)
	}
	return n * mult, nil
}

// ensure makes path hold exactly size bytes written by write, unless it
// already holds that many.
func ensure(log io.Writer, path string, size int64, write func(*bufio.Writer) error) error {
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() && fi.Size() == size {
		fmt.Fprintf(log, "gen: %s exists with %d bytes, kept\n", path, size)
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	w := bufio.NewWriterSize(tmp, 1<<20)
	if err := write(w); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil { // CreateTemp makes 0600
		return err
	}
	if fi, err := os.Stat(tmp.Name()); err != nil || fi.Size() != size {
		return fmt.Errorf("writing %s: wrote a file of the wrong size (%v, want %d bytes): a bug in gen", path, fi.Size(), size)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	fmt.Fprintf(log, "gen: wrote %s (%d bytes)\n", path, size)
	return nil
}

// newRand returns the generator of one stream of one input: each (seed,
// stream) pair is independent of the others.
func newRand(seed uint64, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, stream))
}

// Streams of random numbers, one per use.
const (
	streamVocab = iota + 1
	streamText
	streamKVKeys
	streamKV
	streamJoinKeys
	streamJoinSmall
	streamJoinBig
)

const (
	lower    = "abcdefghijklmnopqrstuvwxyz"
	keyChars = "abcdefghijklmnopqrstuvwxyz0123456789"
	// valueChars are the characters of values: printable ASCII, never
	// '\t', '\n' or '\r', which would change the lines' fields.
	valueChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:-_+=()"
	vocabSize  = 50000
	keyLen     = 10
)

// vocabulary returns n distinct words of 3–12 lowercase letters.
func vocabulary(seed uint64, n int) []string {
	r := newRand(seed, streamVocab)
	seen := make(map[string]bool, n)
	words := make([]string, 0, n)
	buf := make([]byte, 12)
	for len(words) < n {
		l := 3 + r.IntN(10)
		for i := range l {
			buf[i] = lower[r.IntN(len(lower))]
		}
		w := string(buf[:l])
		if !seen[w] {
			seen[w] = true
			words = append(words, w)
		}
	}
	return words
}

// writeText writes exactly size bytes of lines of 10–20 Zipf-distributed
// words. The last line is cut to fit (its last word may be a prefix of a
// vocabulary word) and still ends with '\n'.
func writeText(w *bufio.Writer, size int64, seed uint64, s float64) error {
	vocab := vocabulary(seed, vocabSize)
	r := newRand(seed, streamText)
	z := rand.NewZipf(r, s, 1, vocabSize-1)
	line := make([]byte, 0, 512)
	var written int64
	for written < size {
		line = line[:0]
		words := 10 + r.IntN(11)
		for i := range words {
			if i > 0 {
				line = append(line, ' ')
			}
			line = append(line, vocab[z.Uint64()]...)
		}
		line = append(line, '\n')
		if left := size - written; int64(len(line)) > left {
			line = append(line[:left-1], '\n')
		}
		if _, err := w.Write(line); err != nil {
			return err
		}
		written += int64(len(line))
	}
	return nil
}

// randKey returns a random key of keyLen characters.
func randKey(r *rand.Rand, buf []byte) string {
	for i := range keyLen {
		buf[i] = keyChars[r.IntN(len(keyChars))]
	}
	return string(buf[:keyLen])
}

// appendValue appends n random value characters.
func appendValue(r *rand.Rand, line []byte, n int) []byte {
	for range n {
		line = append(line, valueChars[r.IntN(len(valueChars))])
	}
	return line
}

// Lengths of a "key\tvalue\n" line: values have 80–100 characters (the
// last line of a file up to 80 more).
const (
	minKVLine = keyLen + 1 + 80 + 1
	avgKVLine = keyLen + 1 + 90 + 1
	maxKVLine = keyLen + 1 + 100 + 1
)

// writeLines writes exactly size bytes of whole "key\tvalue" lines, the
// keys chosen by key. The last line's value is as long as it takes to fill
// the file: no line is ever cut, so every key is whole.
func writeLines(w *bufio.Writer, size int64, r *rand.Rand, key func() string) error {
	if size < keyLen+3 {
		return fmt.Errorf("a key-value file needs at least %d bytes (one line with a 1-byte value), got %d", keyLen+3, size)
	}
	line := make([]byte, 0, 2*maxKVLine)
	var written int64
	for written < size {
		left := size - written // at least keyLen+3: see below
		n := 80 + r.IntN(21)
		if left-int64(keyLen+2+n) < minKVLine {
			n = int(left) - (keyLen + 2) // the last line: the rest would not hold a whole one
		}
		line = append(append(line[:0], key()...), '\t')
		line = append(appendValue(r, line, n), '\n')
		if _, err := w.Write(line); err != nil {
			return err
		}
		written += int64(len(line))
	}
	return nil
}

// writeKV writes the SortByKey / GroupByKey input: keys drawn uniformly from
// a pool of about lines/perKey random keys (perKey 1: a fresh random key per
// line).
func writeKV(w *bufio.Writer, size int64, seed uint64, perKey int) error {
	buf := make([]byte, keyLen)
	r := newRand(seed, streamKV)
	if perKey == 1 {
		return writeLines(w, size, r, func() string { return randKey(r, buf) })
	}
	kr := newRand(seed, streamKVKeys)
	pool := make([]string, max(1, size/avgKVLine/int64(perKey)))
	for i := range pool {
		pool[i] = randKey(kr, buf)
	}
	return writeLines(w, size, r, func() string { return pool[r.IntN(len(pool))] })
}

// joinKeys returns distinct keys for the small join side, enough for every
// line of a file of size bytes.
func joinKeys(size int64, seed uint64) []string {
	r := newRand(seed, streamJoinKeys)
	n := size/minKVLine + 1
	seen := make(map[string]bool, n)
	keys := make([]string, 0, n)
	buf := make([]byte, keyLen)
	for int64(len(keys)) < n {
		k := randKey(r, buf)
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	return keys
}

// writeJoinSmall writes the small join side: line i has key i, so every key
// appears at most once.
func writeJoinSmall(w *bufio.Writer, size int64, seed uint64, keys []string) error {
	r := newRand(seed, streamJoinSmall)
	i := 0
	return writeLines(w, size, r, func() string {
		k := keys[i] // keys has one per line of the shortest length: never runs out
		i++
		return k
	})
}

// writeJoinBig writes the big join side, its keys drawn uniformly from keys
// on whole lines of the small side of smallSize bytes, so every line of the
// big side has exactly one match.
func writeJoinBig(w *bufio.Writer, size, smallSize int64, seed uint64, keys []string) error {
	r := newRand(seed, streamJoinBig)
	// The small side's first smallSize/maxKVLine-1 lines are surely whole
	// (not the last, cut one).
	safe := int(max(1, smallSize/maxKVLine-1))
	return writeLines(w, size, r, func() string { return keys[r.IntN(safe)] })
}

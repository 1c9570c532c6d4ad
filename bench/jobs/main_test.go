package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/bench/internal/check"
)

func TestMain(m *testing.M) {
	stoke.RunIfExecutor()
	os.Exit(m.Run())
}

func newContext(t *testing.T) *stoke.Context {
	t.Helper()
	sc, err := stoke.New(stoke.Config{"stoke.master": "local[2]", "stoke.ui.enabled": "false", "stoke.log.level": "warn"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sc.Stop() })
	return sc
}

func write(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// The checksums are computed here by hand from the inputs, so a job that
// splits, counts, groups or joins wrongly fails.
func TestJobs(t *testing.T) {
	sc := newContext(t)
	ctx := context.Background()

	text := write(t, "words.txt", "It's a Dog's life, a DOG's life!\n\n42 élan vital élan\nrock'n'roll--and more\n")
	words := map[string]int{"it's": 1, "a": 2, "dog's": 2, "life": 2, "élan": 2, "vital": 1, "rock'n'roll": 1, "and": 1, "more": 1}
	var want check.Sum
	for w, n := range words {
		want = check.Add(want, check.Sum{N: 1, Total: int64(n), Hash: check.Hash(w, strconv.Itoa(n))})
	}
	for _, p := range []int{0, 3} {
		got, err := wordcount(ctx, sc, p, []string{text})
		if err != nil {
			t.Fatal(err)
		}
		if w := check.Line("wordcount", want); got != w {
			t.Errorf("wordcount -p %d = %q, want %q", p, got, w)
		}
	}

	kv := write(t, "kv.txt", "b\tx\na\ty\nb\tz\nnotab\nb\tx\n")
	want = check.Sum{N: 3, Total: 5, Hash: check.Hash("b", "x")*2 + check.Hash("a", "y") + check.Hash("b", "z") + check.Hash("notab", "")}
	got, err := group(ctx, sc, 2, []string{kv})
	if err != nil {
		t.Fatal(err)
	}
	if w := check.Line("group", want); got != w {
		t.Errorf("group = %q, want %q", got, w)
	}

	small := write(t, "small.txt", "a\t1\nb\t22\nc\t3\n")
	big := write(t, "big.txt", "b\tp\na\tq\nb\tr\nd\ts\n")
	want = check.Sum{N: 3, Total: 3 + 2 + 3, Hash: check.Hash("b", "22", "p") + check.Hash("a", "1", "q") + check.Hash("b", "22", "r")}
	got, err = join(ctx, sc, 0, []string{small, big})
	if err != nil {
		t.Fatal(err)
	}
	if w := check.Line("join", want); got != w {
		t.Errorf("join = %q, want %q", got, w)
	}

	empty := write(t, "empty.txt", "")
	got, err = wordcount(ctx, sc, 0, []string{empty})
	if err != nil {
		t.Fatal(err)
	}
	if w := check.Line("wordcount", check.Sum{}); got != w {
		t.Errorf("wordcount of an empty file = %q, want %q", got, w)
	}

	if _, err := wordcount(ctx, sc, 0, []string{filepath.Join(t.TempDir(), "missing")}); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("wordcount of a missing file: err = %v, want one naming the file", err)
	}
}

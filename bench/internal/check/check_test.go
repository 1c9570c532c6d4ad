package check

import "testing"

// FNV-1a 64 test vectors; bench/spark's Jobs.hash must agree (the smoke run
// of scripts/bench-vs-spark.sh compares the two).
func TestHash(t *testing.T) {
	if got := Hash(""); got != fnvOffset {
		t.Errorf(`Hash("") = %x, want the offset basis %x`, got, uint64(fnvOffset))
	}
	if got, want := Hash("a"), uint64(0xaf63dc4c8601ec8c); got != want {
		t.Errorf(`Hash("a") = %x, want %x (FNV-1a 64 test vector)`, got, want)
	}
	if got, want := Hash("foobar"), uint64(0x85944171f73967e8); got != want {
		t.Errorf(`Hash("foobar") = %x, want %x (FNV-1a 64 test vector)`, got, want)
	}
	if Hash("a", "b") != Hash("a\tb") {
		t.Error(`Hash("a", "b") differs from Hash("a\tb"): fields must be joined by a tab`)
	}
}

func TestLine(t *testing.T) {
	got := Line("wordcount", Add(Sum{1, 2, 3}, Sum{10, 20, ^uint64(0)}))
	if want := "checksum: wordcount n=11 total=22 hash=0000000000000002"; got != want {
		t.Errorf("Line = %q, want %q", got, want)
	}
}

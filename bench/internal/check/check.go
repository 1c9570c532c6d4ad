// Package check holds the checksums the benchmark programs print, so that a
// Stoke job, the plain Go word count and the Spark job (bench/spark, which
// computes the same in Java) can be compared.
package check

import "fmt"

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// Hash returns the 64-bit FNV-1a hash of the bytes of fields joined by a
// tab. Checksums add these hashes (modulo 2^64), so they do not depend on the
// order of records.
func Hash(fields ...string) uint64 {
	h := uint64(fnvOffset)
	for i, f := range fields {
		if i > 0 {
			h ^= '\t'
			h *= fnvPrime
		}
		for j := 0; j < len(f); j++ {
			h ^= uint64(f[j])
			h *= fnvPrime
		}
	}
	return h
}

// Sum summarizes a set of records: how many (N), a total of their counts
// (Total; for example the words behind N distinct words) and the sum of
// their hashes.
type Sum struct {
	N     int64
	Total int64
	Hash  uint64
}

// Add combines two summaries of disjoint sets of records.
func Add(a, b Sum) Sum { return Sum{a.N + b.N, a.Total + b.Total, a.Hash + b.Hash} }

// Line is the checksum line of job: "checksum: JOB n=N total=T hash=H".
// scripts/bench-vs-spark.sh compares these lines between programs.
func Line(job string, s Sum) string {
	return fmt.Sprintf("checksum: %s n=%d total=%d hash=%016x", job, s.N, s.Total, s.Hash)
}

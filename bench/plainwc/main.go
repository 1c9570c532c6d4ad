// Command plainwc counts words with one goroutine and a map: the baseline
// of Stoke's word count on local[1] (scripts/bench-vs-spark.sh). It splits
// lines exactly as examples/wordcount and bench/jobs do and prints the same
// checksum line as `jobs wordcount`.
//
//	plainwc FILE
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode"

	"github.com/stoke-run/stoke/bench/internal/check"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: plainwc FILE")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "plainwc:", err)
		os.Exit(1)
	}
	defer f.Close()
	counts, err := count(f)
	if err != nil {
		fmt.Fprintln(os.Stderr, "plainwc:", err)
		os.Exit(1)
	}
	fmt.Println(check.Line("wordcount", summarize(counts)))
}

func notWord(r rune) bool { return !unicode.IsLetter(r) && r != '\'' }

// count returns how many times each word occurs in r.
func count(r io.Reader) (map[string]int, error) {
	counts := make(map[string]int)
	br := bufio.NewReaderSize(r, 1<<20)
	for {
		line, err := br.ReadString('\n')
		for _, w := range strings.FieldsFunc(strings.ToLower(strings.TrimSuffix(line, "\n")), notWord) {
			counts[w]++
		}
		if err == io.EOF {
			return counts, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// summarize is the word count's checksum: distinct words, total words and
// the sum of the hashes of "word\tcount".
func summarize(counts map[string]int) check.Sum {
	var s check.Sum
	for w, c := range counts {
		s = check.Add(s, check.Sum{N: 1, Total: int64(c), Hash: check.Hash(w, strconv.Itoa(c))})
	}
	return s
}

// Command checksort checks the output of a sort job (Stoke's `jobs sort` or
// Spark's): the "key\tvalue" lines of the part-* files of OUT, read in name
// order, must be ordered by key (bytewise, ascending) and be the lines of IN
// (the same multiset). It prints the checksum line of the output,
// "checksum: sort n=LINES total=BYTES hash=SUM" (bench/internal/check), and
// exits 1 when the output is not sorted or differs from the input.
//
//	checksort IN OUT
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/stoke-run/stoke/bench/internal/check"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: checksort IN OUT")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "checksort:", err)
		os.Exit(1)
	}
}

func run(in, out string, w io.Writer) error {
	want, err := sumFile(in, nil)
	if err != nil {
		return err
	}
	parts, err := filepath.Glob(filepath.Join(out, "part-*"))
	if err != nil {
		return err
	}
	if len(parts) == 0 {
		return fmt.Errorf("%s holds no part-* files", out)
	}
	if _, err := os.Stat(filepath.Join(out, "_SUCCESS")); err != nil {
		return fmt.Errorf("%s has no _SUCCESS: the save did not finish", out)
	}
	sort.Strings(parts)
	var got check.Sum
	order := &sortedCheck{}
	for _, p := range parts {
		s, err := sumFile(p, order)
		if err != nil {
			return err
		}
		got = check.Add(got, s)
	}
	fmt.Fprintln(w, check.Line("sort", got))
	if got != want {
		return fmt.Errorf("the lines of %s differ from those of %s: %s, want %s", out, in, check.Line("sort", got), check.Line("sort", want))
	}
	return nil
}

// sortedCheck follows the keys across the part files.
type sortedCheck struct {
	last, where string
	started     bool
}

func (c *sortedCheck) next(key, where string) error {
	if c.started && key < c.last {
		return fmt.Errorf("not sorted: key %q at %s comes after %q at %s", key, where, c.last, c.where)
	}
	c.last, c.where, c.started = key, where, true
	return nil
}

// sumFile sums the lines of path (without their '\n'): n lines, total bytes
// and the hash sum. With order, it also checks that keys ascend.
func sumFile(path string, order *sortedCheck) (check.Sum, error) {
	f, err := os.Open(path)
	if err != nil {
		return check.Sum{}, err
	}
	defer f.Close()
	var s check.Sum
	r := bufio.NewReaderSize(f, 1<<20)
	for lineNo := 1; ; lineNo++ {
		line, err := r.ReadString('\n')
		if line != "" {
			line = strings.TrimSuffix(line, "\n")
			s = check.Add(s, check.Sum{N: 1, Total: int64(len(line)), Hash: check.Hash(line)})
			if order != nil {
				key, _, _ := strings.Cut(line, "\t")
				if err := order.next(key, fmt.Sprintf("%s:%d", path, lineNo)); err != nil {
					return s, err
				}
			}
		}
		if err == io.EOF {
			return s, nil
		}
		if err != nil {
			return s, err
		}
	}
}

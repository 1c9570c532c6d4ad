package executor

import "testing"

// The Go memory limit leaves a tenth of the executor's memory (at least
// 32 MiB from 128 MiB up) to what the runtime does not count, and never
// reaches zero for small executors.
func TestGoMemoryLimit(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct{ mem, want int64 }{
		{16 * mib, 12 * mib},
		{100 * mib, 75 * mib},
		{200 * mib, 168 * mib},
		{256 * mib, 224 * mib},
		{512 * mib, 512*mib - 512*mib/10},
		{4096 * mib, 4096*mib - 4096*mib/10},
	} {
		got := goMemoryLimit(c.mem)
		if got != c.want || got <= 0 || got >= c.mem {
			t.Errorf("goMemoryLimit(%d MiB) = %d, want %d", c.mem/mib, got, c.want)
		}
	}
}

// Command measure runs a command and reports its wall time, CPU time and the
// memory of its whole process tree (the command and every descendant, such
// as executor processes), for scripts/bench-vs-spark.sh:
//
//	measure -report run.txt -stdout out.txt -stderr err.txt -- CMD ARGS...
//
// It samples /proc every -interval: the peak of the summed resident memory
// (VmRSS) of the tree's live processes is rss_peak_mib; each process's own
// peak (VmHWM, kept by the kernel, read at the last sample before it ended)
// summed over all processes seen is hwm_sum_mib, an upper bound of rss_peak;
// hwm_max_mib is the largest of one process (also from wait4's rusage), a
// lower bound of rss_peak. Processes that live shorter than one interval are
// missed. A child that shares its parent's memory (between vfork and exec)
// is not counted twice. cpu_s is the user+system time of the command and the
// descendants it waited for. The report is one line of key=value fields;
// measure exits with the command's exit code.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	report := flag.String("report", "", "write the report line to this file (default: stderr)")
	stdout := flag.String("stdout", "", "write the command's standard output to this file (default: measure's)")
	stderr := flag.String("stderr", "", "write the command's standard error to this file (default: measure's)")
	interval := flag.Duration("interval", 50*time.Millisecond, "how often to sample /proc")
	flag.Parse()
	if flag.NArg() == 0 || *interval <= 0 {
		fmt.Fprintln(os.Stderr, "usage: measure [-report FILE] [-stdout FILE] [-stderr FILE] [-interval D] -- CMD [ARGS...]")
		os.Exit(2)
	}
	cmd := exec.Command(flag.Arg(0), flag.Args()[1:]...)
	cmd.Stdin = os.Stdin
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if *stdout != "" {
		f, err := os.Create(*stdout)
		if err != nil {
			fail(err)
		}
		defer f.Close()
		cmd.Stdout = f
	}
	if *stderr != "" {
		f, err := os.Create(*stderr)
		if err != nil {
			fail(err)
		}
		defer f.Close()
		cmd.Stderr = f
	}
	r, err := measure(cmd, *interval)
	if err != nil {
		fail(err)
	}
	line := r.String()
	if *report == "" {
		fmt.Fprintln(os.Stderr, line)
	} else if err := os.WriteFile(*report, []byte(line+"\n"), 0o644); err != nil {
		fail(err)
	}
	os.Exit(r.exit)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "measure:", err)
	os.Exit(125)
}

// result is what one run measured.
type result struct {
	wall    time.Duration
	cpu     time.Duration
	rssPeak int64 // bytes: the largest sum of VmRSS over one sample
	hwmSum  int64 // bytes: the sum of every process's VmHWM
	hwmMax  int64 // bytes: the largest VmHWM of one process
	procs   int   // processes seen
	exit    int
}

func (r result) String() string {
	const mib = 1 << 20
	return fmt.Sprintf("wall_s=%.3f cpu_s=%.3f rss_peak_mib=%.1f hwm_sum_mib=%.1f hwm_max_mib=%.1f procs=%d exit=%d",
		r.wall.Seconds(), r.cpu.Seconds(), float64(r.rssPeak)/mib, float64(r.hwmSum)/mib, float64(r.hwmMax)/mib, r.procs, r.exit)
}

// measure runs cmd to its end, sampling its process tree.
func measure(cmd *exec.Cmd, interval time.Duration) (result, error) {
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	hwm := map[int]int64{} // pid -> its last VmHWM
	var r result
	tick := time.NewTicker(interval)
	defer tick.Stop()
	sample := func() {
		var rss int64
		for _, pid := range tree(cmd.Process.Pid) {
			if pid.parent != 0 && sharesMemory(pid.pid, pid.parent) {
				// A child between vfork (or posix_spawn) and exec shows its
				// parent's memory, which must not count twice.
				continue
			}
			cur, high, ok := memory(pid.pid)
			if !ok {
				continue // ended since the scan
			}
			rss += cur
			hwm[pid.pid] = max(hwm[pid.pid], high)
		}
		r.rssPeak = max(r.rssPeak, rss)
	}
	sample()
	var waitErr error
loop:
	for {
		select {
		case waitErr = <-done:
			break loop
		case <-tick.C:
			sample()
		}
	}
	r.wall = time.Since(start)
	var exitErr *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &exitErr) {
		return result{}, waitErr
	}
	r.exit = cmd.ProcessState.ExitCode()
	if r.exit < 0 { // killed by a signal
		r.exit = 128
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			r.exit += int(ws.Signal())
		}
	}
	r.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	for _, h := range hwm {
		r.hwmSum += h
		r.hwmMax = max(r.hwmMax, h)
	}
	r.procs = len(hwm)
	// The command's own peak, from the kernel, even if it ended between
	// two samples.
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.hwmMax = max(r.hwmMax, int64(ru.Maxrss)*1024)
	}
	// The tree held at least its largest process's peak, even if no sample
	// caught it (a run shorter than the interval).
	r.rssPeak = max(r.rssPeak, r.hwmMax)
	return r, nil
}

// proc is a process of the tree and its parent (0 for the root).
type proc struct{ pid, parent int }

// tree returns root and its live descendants, from one scan of /proc.
func tree(root int) []proc {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return []proc{{root, 0}}
	}
	children := map[int][]int{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, ok := parent(pid); ok {
			children[ppid] = append(children[ppid], pid)
		}
	}
	out := []proc{{root, 0}}
	for i := 0; i < len(out); i++ {
		for _, c := range children[out[i].pid] {
			out = append(out, proc{c, out[i].pid})
		}
	}
	return out
}

// sharesMemory reports whether two processes share one address space
// (kcmp(2) with KCMP_VM).
func sharesMemory(a, b int) bool {
	if sysKcmp < 0 {
		return false
	}
	const kcmpVM = 1
	nr := sysKcmp // a variable: the constant -1 of other architectures is no uintptr
	r, _, errno := syscall.Syscall6(uintptr(nr), uintptr(a), uintptr(b), kcmpVM, 0, 0, 0)
	return errno == 0 && r == 0
}

// parent reads the parent pid from /proc/PID/stat.
func parent(pid int) (int, bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, false
	}
	// pid (comm) state ppid ...: comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(f[1])
	return ppid, err == nil
}

// memory reads VmRSS and VmHWM (bytes) from /proc/PID/status.
func memory(pid int) (rss, hwm int64, ok bool) {
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0, 0, false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		k, v, found := strings.Cut(s.Text(), ":")
		if !found || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			continue
		}
		if k == "VmRSS" {
			rss = kb * 1024
		} else {
			hwm = kb * 1024
		}
	}
	return rss, hwm, true // a zombie has neither: counts as 0
}

package standalone

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// MachineMemoryMiB is the machine's total memory from /proc/meminfo.
func MachineMemoryMiB() (int, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.Atoi(fields[1])
			if err != nil {
				return 0, fmt.Errorf("/proc/meminfo: MemTotal %q: %w", fields[1], err)
			}
			return kb / 1024, nil
		}
	}
	return 0, fmt.Errorf("/proc/meminfo has no MemTotal line")
}

// checkWorkerMemory refuses a worker offering more memory than the machine has.
func checkWorkerMemory(offered int) error {
	total, err := MachineMemoryMiB()
	if err != nil {
		return nil // not Linux or no /proc: nothing to check against
	}
	if offered > total {
		return fmt.Errorf("the worker offers %d MiB but this machine has only %d MiB of memory; lower --memory (STOKE_WORKER_MEMORY)", offered, total)
	}
	return nil
}

package sched

import (
	"fmt"
	"strings"
)

// String returns "FIFO" or "FAIR".
func (m Mode) String() string {
	switch m {
	case FIFO:
		return "FIFO"
	case FAIR:
		return "FAIR"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// ParseMode accepts FIFO or FAIR in any letter case, surrounding blanks
// ignored; anything else is an error naming the value.
func ParseMode(s string) (Mode, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "FIFO":
		return FIFO, nil
	case "FAIR":
		return FAIR, nil
	}
	return FIFO, fmt.Errorf("unsupported scheduling mode %q: want FIFO or FAIR", s)
}

// String returns the level's conventional upper-case name.
func (l Locality) String() string {
	switch l {
	case ProcessLocal:
		return "PROCESS_LOCAL"
	case NodeLocal:
		return "NODE_LOCAL"
	case NoPref:
		return "NO_PREF"
	case Any:
		return "ANY"
	}
	return fmt.Sprintf("Locality(%d)", int(l))
}

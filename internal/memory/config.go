package memory

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/stoke-run/stoke/internal/conf"
)

// Configuration keys read by ConfigFrom.
const (
	KeyFraction        = "stoke.memory.fraction"
	KeyStorageFraction = "stoke.memory.storageFraction"
	KeyReserved        = "stoke.memory.reserved"
)

// Defaults used when a key is not set.
const (
	DefaultFraction        = 0.6
	DefaultStorageFraction = 0.5
	// MaxDefaultReserved caps the default reserved memory; the default is
	// min(MaxDefaultReserved, Total/4) because Go executors are often small.
	MaxDefaultReserved = 300 << 20
)

// Config sizes a Manager. All fields are used as given; DefaultConfig and
// ConfigFrom fill in the defaults.
type Config struct {
	// Total is the executor memory in bytes.
	Total int64
	// Reserved is memory set aside for the runtime itself, in bytes.
	Reserved int64
	// Fraction is the share of Total-Reserved that execution and storage
	// share (stoke.memory.fraction), in (0,1].
	Fraction float64
	// StorageFraction is the share of the unified region that storage keeps
	// immune to eviction by execution (stoke.memory.storageFraction), in [0,1].
	StorageFraction float64
}

// DefaultConfig returns the default Config for an executor with total bytes
// of memory.
func DefaultConfig(total int64) Config {
	return Config{
		Total:           total,
		Reserved:        defaultReserved(total),
		Fraction:        DefaultFraction,
		StorageFraction: DefaultStorageFraction,
	}
}

func defaultReserved(total int64) int64 {
	return min(MaxDefaultReserved, total/4)
}

// Validate reports the first invalid field of c.
func (c Config) Validate() error {
	if c.Total <= 0 {
		return fmt.Errorf("executor memory must be positive, got %d bytes", c.Total)
	}
	if c.Reserved < 0 {
		return fmt.Errorf("%s must not be negative, got %d bytes", KeyReserved, c.Reserved)
	}
	if c.Reserved >= c.Total {
		return fmt.Errorf("%s (%d bytes) must be smaller than the executor memory (%d bytes); lower it or give the executor more memory",
			KeyReserved, c.Reserved, c.Total)
	}
	if !(c.Fraction > 0 && c.Fraction <= 1) { // also rejects NaN
		return fmt.Errorf("%s must be in (0,1], got %v", KeyFraction, c.Fraction)
	}
	if !(c.StorageFraction >= 0 && c.StorageFraction <= 1) {
		return fmt.Errorf("%s must be in [0,1], got %v", KeyStorageFraction, c.StorageFraction)
	}
	return nil
}

// Unified returns the size of the region shared by execution and storage:
// (Total-Reserved)*Fraction.
func (c Config) Unified() int64 {
	return int64(float64(c.Total-c.Reserved) * c.Fraction)
}

// StorageRegion returns the part of the unified region that execution
// cannot evict cached blocks from: Unified()*StorageFraction.
func (c Config) StorageRegion() int64 {
	return int64(float64(c.Unified()) * c.StorageFraction)
}

// ConfigFrom builds a Config for an executor with executorMemory bytes from
// the settings returned by get (for example a conf.Conf lookup). Unset keys
// take their defaults; stoke.memory.reserved accepts bytes or sizes such as
// "300m".
func ConfigFrom(get func(key string) (string, bool), executorMemory int64) (Config, error) {
	c := DefaultConfig(executorMemory)
	if executorMemory <= 0 {
		return c, fmt.Errorf("executor memory must be positive, got %d bytes", executorMemory)
	}
	var err error
	if v, ok := get(KeyFraction); ok {
		if c.Fraction, err = parseFraction(KeyFraction, v); err != nil {
			return c, err
		}
	}
	if v, ok := get(KeyStorageFraction); ok {
		if c.StorageFraction, err = parseFraction(KeyStorageFraction, v); err != nil {
			return c, err
		}
	}
	if v, ok := get(KeyReserved); ok {
		n, err := conf.ParseBytes(strings.TrimSpace(v), "b")
		if err != nil {
			return c, fmt.Errorf("%s must be a size such as 300m or 1048576, got %q: %v", KeyReserved, v, err)
		}
		c.Reserved = n
	}
	return c, c.Validate()
}

func parseFraction(key, v string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%s must be a number, got %q", key, v)
	}
	return f, nil
}

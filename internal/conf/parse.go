package conf

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// The value types a Key can have.
const (
	TypeString   = "string"
	TypeInt      = "int"
	TypeBool     = "bool"
	TypeFloat    = "float"
	TypeDuration = "duration"
	TypeBytes    = "bytes"
)

var timeUnits = map[string]time.Duration{
	"us":  time.Microsecond,
	"ms":  time.Millisecond,
	"s":   time.Second,
	"m":   time.Minute,
	"min": time.Minute,
	"h":   time.Hour,
	"d":   24 * time.Hour,
}

const timeUnitList = "us, ms, s, m or min, h, d"

var byteUnits = map[string]int64{
	"b": 1,
	"k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10,
	"m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20,
	"g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30,
	"t": 1 << 40, "tb": 1 << 40, "tib": 1 << 40,
	"p": 1 << 50, "pb": 1 << 50, "pib": 1 << 50,
}

const byteUnitList = "b, k, m, g, t, p (binary: 1k = 1024b)"

// splitNumber splits "  512 M " into "512" and "m". The number part is the
// leading run of digits, signs and dots; the rest, trimmed and lower-cased,
// is the unit.
func splitNumber(s string) (num, unit string, err error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", "", errors.New("empty value")
	}
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '-' || s[i] == '+' || s[i] == '.') {
		i++
	}
	num, unit = s[:i], strings.ToLower(strings.TrimSpace(s[i:]))
	if num == "" {
		return "", "", errors.New("does not start with a number")
	}
	if strings.HasPrefix(num, "-") {
		return "", "", errors.New("must not be negative")
	}
	if strings.Contains(num, ".") {
		return "", "", errors.New("fractional values are not supported; use a smaller unit")
	}
	if strings.ContainsAny(num[1:], "+-") || num == "+" {
		return "", "", errors.New("not a number")
	}
	return strings.TrimPrefix(num, "+"), unit, nil
}

// ParseDuration parses a time string as the reference system writes them: a
// non-negative integer and a unit, one of us, ms, s, m (or min), h, d, as in
// "100ms", "3s", "2min", "1d". A bare number is in defaultUnit (one of the
// same units, "ms" if empty).
func ParseDuration(s, defaultUnit string) (time.Duration, error) {
	num, unit, err := splitNumber(s)
	if err != nil {
		return 0, err
	}
	if unit == "" {
		unit = strings.ToLower(defaultUnit)
		if unit == "" {
			unit = "ms"
		}
	}
	mult, ok := timeUnits[unit]
	if !ok {
		return 0, fmt.Errorf("unknown time unit %q (use %s)", unit, timeUnitList)
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n > math.MaxInt64/int64(mult) {
		return 0, errors.New("duration too large")
	}
	return time.Duration(n) * mult, nil
}

// ParseBytes parses a size as the reference system writes them: a
// non-negative integer and a binary unit, one of b, k, m, g, t, p (also kb,
// mb, ..., kib, mib, ...), as in "512m", "1g", "100b". A bare number is in
// defaultUnit ("b" if empty).
func ParseBytes(s, defaultUnit string) (int64, error) {
	num, unit, err := splitNumber(s)
	if err != nil {
		return 0, err
	}
	if unit == "" {
		unit = strings.ToLower(defaultUnit)
		if unit == "" {
			unit = "b"
		}
	}
	mult, ok := byteUnits[unit]
	if !ok {
		return 0, fmt.Errorf("unknown size unit %q (use %s)", unit, byteUnitList)
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n > math.MaxInt64/mult {
		return 0, errors.New("size too large")
	}
	return n * mult, nil
}

func parseInt(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("empty value")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange) {
			return 0, errors.New("integer out of range")
		}
		return 0, errors.New("not an integer")
	}
	if strconv.IntSize == 32 && (n > math.MaxInt32 || n < math.MinInt32) {
		return 0, errors.New("integer out of range")
	}
	return n, nil
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, errors.New("expected true or false")
}

func parseFloat(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("empty value")
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, errors.New("not a finite number")
	}
	return f, nil
}

// parseTyped parses s as typ: int64, bool, float64, time.Duration, int64
// bytes, or the trimmed string.
func parseTyped(typ, s, unit string) (any, error) {
	switch typ {
	case TypeString, "":
		return strings.TrimSpace(s), nil
	case TypeInt:
		return parseInt(s)
	case TypeBool:
		return parseBool(s)
	case TypeFloat:
		return parseFloat(s)
	case TypeDuration:
		return ParseDuration(s, unit)
	case TypeBytes:
		return ParseBytes(s, unit)
	}
	return nil, fmt.Errorf("unknown value type %q", typ)
}

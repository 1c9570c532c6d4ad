package conf

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// Source says where a configuration value came from. Precedence, highest
// first: SourceCode, then SourceSubmit and SourceConfFlag, then
// SourcePropertiesFile, then SourceDefault (SPEC §7).
type Source string

const (
	SourceDefault        Source = "default"
	SourceCode           Source = "code"
	SourceSubmit         Source = "stoke submit flag"
	SourceConfFlag       Source = "--conf"
	SourcePropertiesFile Source = "properties file"
	SourceEnv            Source = "environment"
)

// known reports whether s is one of the Source constants.
func (s Source) known() bool {
	switch s {
	case SourceDefault, SourceCode, SourceSubmit, SourceConfFlag, SourcePropertiesFile, SourceEnv:
		return true
	}
	return false
}

// Entry is one key/value with the place it was set.
type Entry struct {
	Key    string `json:"key"`
	Value  string `json:"value"`
	Source Source `json:"source"`
}

// RedactedValue replaces the value of a sensitive key in Redacted.
const RedactedValue = "*********(redacted)"

// Conf is a set of configuration values, each with its Source. It is built
// with Set (lowest-precedence source first, since a later Set replaces an
// earlier one) and then only read; every method is safe for concurrent use.
type Conf struct {
	mu     sync.RWMutex
	values map[string]Entry
}

// New returns an empty Conf: every key reads as its registered default.
func New() *Conf {
	return &Conf{values: make(map[string]Entry)}
}

// Set sets key to value, recording src. It replaces any earlier value for
// key whatever that value's source, so callers apply sources in increasing
// order of precedence.
func (c *Conf) Set(key, value string, src Source) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.values == nil {
		c.values = make(map[string]Entry)
	}
	c.values[key] = Entry{Key: key, Value: value, Source: src}
}

// Clone returns an independent copy of c.
func (c *Conf) Clone() *Conf {
	c.mu.RLock()
	defer c.mu.RUnlock()
	n := &Conf{values: make(map[string]Entry, len(c.values))}
	for k, e := range c.values {
		n.values[k] = e
	}
	return n
}

// Get returns the value of key if it was explicitly set (defaults are not
// reported).
func (c *Conf) Get(key string) (value string, ok bool) {
	e, ok := c.entry(key)
	return e.Value, ok
}

// SourceOf returns where key's value came from: its recorded source if set,
// SourceDefault otherwise.
func (c *Conf) SourceOf(key string) Source {
	if e, ok := c.entry(key); ok {
		return e.Source
	}
	return SourceDefault
}

func (c *Conf) entry(key string) (Entry, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.values[key]
	return e, ok
}

// String returns the value of key: the value set, else the value of the key's
// registered fallback key (see Key.Fallback), else its registered default,
// else "".
func (c *Conf) String(key string) string {
	v, _ := c.lookup(key)
	return v
}

// lookup resolves key as String does; found is false when the key is unset
// and has no non-empty default.
func (c *Conf) lookup(key string) (value string, found bool) {
	for range 16 { // bounds a (mis-registered) fallback cycle
		if v, ok := c.Get(key); ok {
			return v, true
		}
		k, ok := Known(key)
		if !ok {
			return "", false
		}
		if k.Fallback == "" {
			return k.Default, k.Default != ""
		}
		key = k.Fallback
	}
	return "", false
}

// All returns the explicitly set entries, sorted by key.
func (c *Conf) All() []Entry {
	c.mu.RLock()
	out := make([]Entry, 0, len(c.values))
	for _, e := range c.values {
		out = append(out, e)
	}
	c.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// Redacted returns All with the values of sensitive keys (see IsSensitive)
// replaced by RedactedValue. Use it for anything shown or logged.
func (c *Conf) Redacted() []Entry {
	out := c.All()
	for i := range out {
		if IsSensitive(out[i].Key) {
			out[i].Value = RedactedValue
		}
	}
	return out
}

// IsSensitive reports whether the value of key must not be shown: keys whose
// name contains "secret", "password", "token", "keytab", "credential" or an
// access key's name (fs.s3a.access.key, fs.azure.account.key.*), in any case.
func IsSensitive(key string) bool {
	k := strings.ToLower(key)
	for _, w := range SensitiveWords {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// SensitiveWords are the parts of a key's name that make its value secret.
var SensitiveWords = []string{"secret", "password", "token", "keytab", "credential", "access.key", "account.key"}

// ValueError is a configuration value that does not parse or is out of range.
type ValueError struct {
	Key   string
	Value string
	Err   error // why, e.g. "not an integer"
}

func (e *ValueError) Error() string {
	return fmt.Sprintf("invalid value %q for %s: %v", e.Value, e.Key, e.Err)
}

func (e *ValueError) Unwrap() error { return e.Err }

// NotSetError is returned by the typed getters for a key that is neither set
// nor has a default. Test for it with errors.As, or errors.Is(err, ErrNotSet).
type NotSetError struct{ Key string }

func (e *NotSetError) Error() string {
	return fmt.Sprintf("configuration key %s is not set and has no default", e.Key)
}

// Is makes errors.Is(err, ErrNotSet) true for every NotSetError.
func (e *NotSetError) Is(target error) bool { return target == ErrNotSet }

// ErrNotSet matches any NotSetError through errors.Is.
var ErrNotSet error = &NotSetError{}

// typed resolves key and parses it as typ, running the key's Check.
func (c *Conf) typed(key, typ string) (any, error) {
	raw, ok := c.lookup(key)
	if !ok {
		return nil, &NotSetError{Key: key}
	}
	k, known := Known(key)
	unit := ""
	if known {
		unit = k.Unit
	}
	v, err := parseTyped(typ, raw, unit)
	if err == nil && known && k.Check != nil && k.Type == typ {
		err = k.Check(v)
	}
	if err != nil {
		return nil, &ValueError{Key: key, Value: raw, Err: err}
	}
	return v, nil
}

// Int returns key as an int (set value, else default).
func (c *Conf) Int(key string) (int, error) {
	v, err := c.typed(key, TypeInt)
	if err != nil {
		return 0, err
	}
	return int(v.(int64)), nil
}

// Int64 returns key as an int64 (set value, else default).
func (c *Conf) Int64(key string) (int64, error) {
	v, err := c.typed(key, TypeInt)
	if err != nil {
		return 0, err
	}
	return v.(int64), nil
}

// Bool returns key as a bool; only "true" and "false" (any case) are accepted.
func (c *Conf) Bool(key string) (bool, error) {
	v, err := c.typed(key, TypeBool)
	if err != nil {
		return false, err
	}
	return v.(bool), nil
}

// Float returns key as a finite float64.
func (c *Conf) Float(key string) (float64, error) {
	v, err := c.typed(key, TypeFloat)
	if err != nil {
		return 0, err
	}
	return v.(float64), nil
}

// Duration returns key as a duration, see ParseDuration. A bare number is in
// the key's registered Unit (milliseconds for unregistered keys).
func (c *Conf) Duration(key string) (time.Duration, error) {
	v, err := c.typed(key, TypeDuration)
	if err != nil {
		return 0, err
	}
	return v.(time.Duration), nil
}

// Bytes returns key as a size in bytes, see ParseBytes. A bare number is in
// the key's registered Unit (bytes for unregistered keys).
func (c *Conf) Bytes(key string) (int64, error) {
	v, err := c.typed(key, TypeBytes)
	if err != nil {
		return 0, err
	}
	return v.(int64), nil
}

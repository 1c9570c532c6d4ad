package conf

import (
	"errors"
	"fmt"
	"strings"
)

// Validate checks every explicitly set value. A known key whose value does
// not parse as its type or fails its range check is an error (all of them
// are collected with errors.Join, each a *ValueError naming the key and the
// value); an unknown stoke.* key is a warning that suggests the closest
// known key, and a spark.* key a warning that names the stoke.* key meant.
// Other keys are not checked.
func (c *Conf) Validate() (warnings []string, err error) {
	ws, err := c.validate()
	for _, w := range ws {
		warnings = append(warnings, w.text)
	}
	return warnings, err
}

type warning struct {
	key  string
	text string
}

func (c *Conf) validate() ([]warning, error) {
	var warns []warning
	var errs []error
	for _, e := range c.All() {
		if rest, ok := strings.CutPrefix(e.Key, "spark."); ok {
			warns = append(warns, warning{key: e.Key, text: sparkKeyWarning(e, rest)})
			continue
		}
		if !strings.HasPrefix(e.Key, "stoke.") {
			continue
		}
		k, ok := Known(e.Key)
		if !ok {
			text := fmt.Sprintf("unknown configuration key %s (set from %s)", e.Key, e.Source)
			if s := closestKey(e.Key); s != "" {
				text += fmt.Sprintf("; did you mean %s?", s)
			}
			warns = append(warns, warning{key: e.Key, text: text})
			continue
		}
		v, perr := parseTyped(k.Type, e.Value, k.Unit)
		if perr == nil && k.Check != nil {
			perr = k.Check(v)
		}
		if perr != nil {
			errs = append(errs, &ValueError{Key: e.Key, Value: e.Value, Err: perr})
		}
	}
	if len(errs) == 0 {
		errs = append(errs, c.crossCheck()...)
	}
	return warns, errors.Join(errs...)
}

// sparkKeyWarning says that a spark.* key has no effect and which stoke.*
// key does what the user meant: Spark users carry their habits (and their
// spark-defaults.conf) over.
func sparkKeyWarning(e Entry, rest string) string {
	text := fmt.Sprintf("%s is a Spark key and has no effect here (set from %s)", e.Key, e.Source)
	if k, ok := Known("stoke." + rest); ok {
		return text + fmt.Sprintf("; Stoke's key is %s", k.Name)
	}
	if s := closestKey("stoke." + rest); s != "" {
		return text + fmt.Sprintf("; the closest Stoke key is %s", s)
	}
	return text + "; Stoke's keys start with stoke."
}

// crossCheck checks rules between keys; it runs only when every value
// parsed.
func (c *Conf) crossCheck() []error {
	var errs []error
	_, setCores := c.Get("stoke.executor.cores")
	_, setCPUs := c.Get("stoke.task.cpus")
	if setCores || setCPUs {
		cores, err1 := c.Int("stoke.executor.cores")
		cpus, err2 := c.Int("stoke.task.cpus")
		if err1 == nil && err2 == nil && cores < cpus {
			errs = append(errs, fmt.Errorf("stoke.executor.cores (%d) must be at least stoke.task.cpus (%d): an executor must fit one task", cores, cpus))
		}
	}
	_, setHB := c.Get("stoke.executor.heartbeatInterval")
	_, setTO := c.Get("stoke.network.timeout")
	if setHB || setTO {
		hb, err1 := c.Duration("stoke.executor.heartbeatInterval")
		to, err2 := c.Duration("stoke.network.timeout")
		if err1 == nil && err2 == nil && hb >= to {
			errs = append(errs, fmt.Errorf("stoke.executor.heartbeatInterval (%v) must be less than stoke.network.timeout (%v)", hb, to))
		}
	}
	errs = append(errs, c.dynamicAllocationCheck()...)
	return errs
}

// closestKey returns the registered key nearest to name by edit distance
// (ignoring case), or "" if none is near enough to be a likely typo.
func closestKey(name string) string {
	lname := strings.ToLower(name)
	best, bestD := "", 0
	for _, k := range Keys() {
		d := editDistance(lname, strings.ToLower(k.Name))
		if best == "" || d < bestD {
			best, bestD = k.Name, d
		}
	}
	limit := 3
	if l := len(name) / 6; l > limit {
		limit = l
	}
	if best == "" || bestD > limit {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// dynamicAllocationCheck refuses executor bounds that contradict each
// other: minExecutors above maxExecutors, initialExecutors outside them.
func (c *Conf) dynamicAllocationCheck() []error {
	const p = "stoke.dynamicAllocation."
	if on, err := c.Bool(p + "enabled"); err != nil || !on {
		return nil
	}
	minN, err1 := c.Int(p + "minExecutors")
	initial, err2 := c.Int(p + "initialExecutors")
	if err1 != nil || err2 != nil {
		return nil
	}
	maxN := -1
	if _, set := c.Get(p + "maxExecutors"); set {
		if v, err := c.Int(p + "maxExecutors"); err == nil {
			maxN = v
		}
	}
	var errs []error
	if maxN >= 0 && minN > maxN {
		errs = append(errs, fmt.Errorf(p+"minExecutors (%d) must not be greater than "+p+"maxExecutors (%d)", minN, maxN))
	}
	if initial < minN || (maxN >= 0 && initial > maxN) {
		bound := "at least " + p + fmt.Sprintf("minExecutors (%d)", minN)
		if maxN >= 0 {
			bound = fmt.Sprintf("between %sminExecutors (%d) and %smaxExecutors (%d)", p, minN, p, maxN)
		}
		errs = append(errs, fmt.Errorf(p+"initialExecutors (%d) must be %s", initial, bound))
	}
	return errs
}

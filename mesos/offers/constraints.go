package offers

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Constraints maps an attribute name to the values one of which it must
// match; an empty list means the attribute must only be present.
type Constraints map[string][]string

// ParseConstraints reads Spark's syntax: "attr:v1,v2;attr2:v;attr3".
func ParseConstraints(s string) (Constraints, error) {
	c := Constraints{}
	for _, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, vals, _ := strings.Cut(part, ":")
		name = strings.TrimSpace(name)
		if name == "" {
			return nil, fmt.Errorf("constraint %q in %q: the attribute name is empty (want attr:value[,value];attr2...)", part, s)
		}
		if _, dup := c[name]; dup {
			return nil, fmt.Errorf("constraint %q in %q: attribute %s is named twice", part, s, name)
		}
		var list []string
		for _, v := range strings.Split(vals, ",") {
			if v = strings.TrimSpace(v); v != "" {
				list = append(list, v)
			}
		}
		c[name] = list
	}
	return c, nil
}

// String renders c in the syntax ParseConstraints reads, names sorted.
func (c Constraints) String() string {
	names := make([]string, 0, len(c))
	for n := range c {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for i, n := range names {
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteString(n)
		if len(c[n]) > 0 {
			b.WriteByte(':')
			b.WriteString(strings.Join(c[n], ","))
		}
	}
	return b.String()
}

// Match reports whether attrs satisfy every constraint, and if not, the
// first attribute that fails.
func (c Constraints) Match(attrs []Attribute) (bool, string) {
	names := make([]string, 0, len(c))
	for n := range c {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		i := slices.IndexFunc(attrs, func(a Attribute) bool { return a.Name == n })
		if i < 0 {
			return false, n
		}
		if want := c[n]; len(want) > 0 && !matchAttr(attrs[i], want) {
			return false, n
		}
	}
	return true, ""
}

// matchAttr follows Spark: a scalar matches when some wanted value is at
// most the offered one; a range when some wanted value lies in it; a set
// when every wanted value is in it; text when it equals a wanted value.
func matchAttr(a Attribute, want []string) bool {
	switch a.Kind {
	case Scalar:
		for _, w := range want {
			if f, err := strconv.ParseFloat(w, 64); err == nil && f <= a.Scalar {
				return true
			}
		}
	case Ranges:
		for _, w := range want {
			v, err := strconv.ParseUint(w, 10, 64)
			if err != nil {
				continue
			}
			for _, r := range a.Ranges {
				if v >= r.Begin && v <= r.End {
					return true
				}
			}
		}
	case Set:
		for _, w := range want {
			if !slices.Contains(a.Set, w) {
				return false
			}
		}
		return true
	case Text:
		return slices.Contains(want, a.Text)
	}
	return false
}

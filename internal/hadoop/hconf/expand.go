package hconf

import (
	"fmt"
	"os"
	"os/user"
	"regexp"
	"strings"
)

// maxExpansionDepth matches Hadoop's limit on nested substitutions.
const maxExpansionDepth = 20

// maxExpandedLen bounds an expanded value, so that references repeated at
// each level ("billion laughs") fail instead of exhausting memory.
const maxExpandedLen = 1 << 20

// expand replaces ${name} references in s. name is another property (expanded in turn),
// env.NAME (optionally env.NAME:-default or env.NAME-default, as in Hadoop 3), or one of the JVM
// system properties clients commonly reference (user.name, user.home, java.io.tmpdir).
// Unresolvable references are left as they are, as Hadoop does. chain holds the keys being
// expanded, to report loops.
func (c *Config) expand(s string, chain []string) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	if len(chain) > maxExpansionDepth {
		return "", fmt.Errorf("hconf: variable substitution deeper than %d levels: %s", maxExpansionDepth, strings.Join(chain, " -> "))
	}
	// Like Hadoop, substitute the innermost references first (a name holds no '$', '}' or
	// space), then rescan, so ${env.X:-${other}} works.
	for pass := 0; pass <= maxExpansionDepth; pass++ {
		locs := varPattern.FindAllStringSubmatchIndex(s, -1)
		if len(locs) == 0 {
			return s, nil
		}
		var b strings.Builder
		prev, changed := 0, false
		for _, m := range locs {
			b.WriteString(s[prev:m[0]])
			prev = m[1]
			v, ok, err := c.resolve(s[m[2]:m[3]], chain)
			if err != nil {
				return "", err
			}
			if !ok {
				b.WriteString(s[m[0]:m[1]])
				continue
			}
			b.WriteString(v)
			changed = true
			if b.Len() > maxExpandedLen {
				return "", fmt.Errorf("hconf: variable substitution makes a value longer than %d bytes: %s", maxExpandedLen, strings.Join(chain, " -> "))
			}
		}
		b.WriteString(s[prev:])
		s = b.String()
		if !changed {
			return s, nil
		}
	}
	return "", fmt.Errorf("hconf: variable substitution deeper than %d levels: %s", maxExpansionDepth, strings.Join(chain, " -> "))
}

var varPattern = regexp.MustCompile(`\$\{([^}$ ]+)\}`)

func (c *Config) resolve(name string, chain []string) (string, bool, error) {
	if env, ok := strings.CutPrefix(name, "env."); ok {
		def, hasDef := "", false
		emptyIsUnset := false
		if k, d, found := strings.Cut(env, ":-"); found {
			env, def, hasDef, emptyIsUnset = k, d, true, true
		} else if k, d, found := strings.Cut(env, "-"); found {
			env, def, hasDef = k, d, true
		}
		v, ok := c.env(env)
		if ok && !(emptyIsUnset && v == "") {
			return v, true, nil
		}
		if hasDef {
			return c.expandNested(def, chain, "env."+env)
		}
		return "", false, nil
	}
	for _, k := range chain {
		if k == name {
			return "", false, fmt.Errorf("hconf: variable substitution loop: %s -> %s", strings.Join(chain, " -> "), name)
		}
	}
	if raw, ok := c.Raw(name); ok {
		return c.expandNested(raw, chain, name)
	}
	if v, ok := systemProperty(name); ok {
		return v, true, nil
	}
	return "", false, nil
}

func (c *Config) expandNested(raw string, chain []string, name string) (string, bool, error) {
	next := append(append([]string(nil), chain...), name)
	v, err := c.expand(raw, next)
	if err != nil {
		return "", false, err
	}
	return v, true, nil
}

// systemProperty stands in for the JVM system properties Hadoop configurations reference.
func systemProperty(name string) (string, bool) {
	switch name {
	case "user.name":
		if u, err := user.Current(); err == nil {
			return u.Username, true
		}
		if v := os.Getenv("USER"); v != "" {
			return v, true
		}
	case "user.home":
		if h, err := os.UserHomeDir(); err == nil {
			return h, true
		}
	case "java.io.tmpdir":
		return os.TempDir(), true
	}
	return "", false
}

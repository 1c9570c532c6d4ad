package hconf

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// SiteFiles are the files Load reads, in override order (later wins unless final).
var SiteFiles = []string{"core-site.xml", "hdfs-site.xml", "mapred-site.xml", "yarn-site.xml"}

// ErrNoConfDir is returned by Load when neither HADOOP_CONF_DIR nor YARN_CONF_DIR is set.
var ErrNoConfDir = errors.New("hconf: neither HADOOP_CONF_DIR nor YARN_CONF_DIR is set; " +
	"point one of them at the directory holding core-site.xml and yarn-site.xml of the cluster")

// Config is a loaded Hadoop configuration. The zero value is not usable; use New or Load.
// A Config is safe for concurrent reads; Set must not race with reads.
type Config struct {
	props map[string]property
	// Env looks up ${env.NAME}; os.LookupEnv when nil.
	env func(string) (string, bool)
	// Sources lists the files read, in order.
	sources []string
	// Ignored records attempts to override final properties, for diagnostics.
	ignored []string
}

type property struct {
	value  string
	source string // file:line, or "set"
	final  bool
}

// New returns an empty configuration (only the built-in defaults apply). env looks up
// ${env.NAME} references; nil means the process environment.
func New(env func(string) (string, bool)) *Config {
	if env == nil {
		env = os.LookupEnv
	}
	return &Config{props: map[string]property{}, env: env}
}

// Load reads the site files from HADOOP_CONF_DIR and YARN_CONF_DIR (looked up with env; nil
// means the process environment). For each file name the first directory holding it wins,
// HADOOP_CONF_DIR first, as on the Java classpath.
func Load(env func(string) (string, bool)) (*Config, error) {
	if env == nil {
		env = os.LookupEnv
	}
	var dirs []string
	for _, k := range []string{"HADOOP_CONF_DIR", "YARN_CONF_DIR"} {
		if v, ok := env(k); ok && strings.TrimSpace(v) != "" {
			dirs = append(dirs, v)
		}
	}
	if len(dirs) == 0 {
		return nil, ErrNoConfDir
	}
	c := New(env)
	if err := c.loadDirs(dirs); err != nil {
		return nil, err
	}
	return c, nil
}

// LoadDir reads the site files from the given directories (first directory holding a file wins).
func LoadDir(env func(string) (string, bool), dirs ...string) (*Config, error) {
	c := New(env)
	if err := c.loadDirs(dirs); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Config) loadDirs(dirs []string) error {
	for _, d := range dirs {
		st, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("hconf: Hadoop configuration directory %q: %w", d, err)
		}
		if !st.IsDir() {
			return fmt.Errorf("hconf: Hadoop configuration directory %q is not a directory", d)
		}
	}
	found := 0
	for _, name := range SiteFiles {
		for _, d := range dirs {
			p := filepath.Join(d, name)
			f, err := os.Open(p)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				return fmt.Errorf("hconf: %w", err)
			}
			err = c.Read(p, f)
			f.Close()
			if err != nil {
				return err
			}
			found++
			break
		}
	}
	if found == 0 {
		return fmt.Errorf("hconf: no Hadoop site files (%s) in %s", strings.Join(SiteFiles, ", "), strings.Join(dirs, ", "))
	}
	return nil
}

// Read merges one Hadoop configuration XML document into c. name is used in errors and
// sources. Properties marked final by an earlier document are not overridden.
func (c *Config) Read(name string, r io.Reader) error {
	dec := xml.NewDecoder(r)
	dec.Strict = true
	c.sources = append(c.sources, name)
	sawRoot := false
	depth := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return xmlError(name, dec, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 1 {
				if t.Name.Local != "configuration" {
					line, _ := dec.InputPos()
					return fmt.Errorf("hconf: %s:%d: root element is <%s>, want <configuration>", name, line, t.Name.Local)
				}
				sawRoot = true
				continue
			}
			if depth == 2 && t.Name.Local == "property" {
				line, _ := dec.InputPos()
				var p xmlProperty
				if err := dec.DecodeElement(&p, &t); err != nil {
					return xmlError(name, dec, err)
				}
				depth--
				if err := c.add(name, line, p); err != nil {
					return err
				}
				continue
			}
			if depth == 2 && t.Name.Local == "include" {
				line, _ := dec.InputPos()
				return fmt.Errorf("hconf: %s:%d: XInclude is not supported; inline the included properties", name, line)
			}
			// Unknown elements are skipped, as Hadoop does.
			if err := dec.Skip(); err != nil {
				return xmlError(name, dec, err)
			}
			depth--
		case xml.EndElement:
			depth--
		}
	}
	if !sawRoot {
		return fmt.Errorf("hconf: %s: no <configuration> element (empty or not a Hadoop configuration file)", name)
	}
	return nil
}

type xmlProperty struct {
	Name  string `xml:"name"`
	Value string `xml:"value"`
	Final string `xml:"final"`
}

func (c *Config) add(file string, line int, p xmlProperty) error {
	key := strings.TrimSpace(p.Name)
	if key == "" {
		return fmt.Errorf("hconf: %s:%d: <property> without a <name>", file, line)
	}
	final := false
	switch strings.TrimSpace(p.Final) {
	case "", "false":
	case "true":
		final = true
	default:
		return fmt.Errorf("hconf: %s:%d: property %s: <final> must be true or false, got %q", file, line, key, p.Final)
	}
	src := fmt.Sprintf("%s:%d", file, line)
	if old, ok := c.props[key]; ok && old.final {
		c.ignored = append(c.ignored, fmt.Sprintf("%s: final %s (from %s) not overridden", src, key, old.source))
		return nil
	}
	c.props[key] = property{value: strings.TrimSpace(p.Value), source: src, final: final}
	return nil
}

func xmlError(name string, dec *xml.Decoder, err error) error {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("hconf: %s:%d: malformed XML: %s", name, se.Line, se.Msg)
	}
	line, _ := dec.InputPos()
	return fmt.Errorf("hconf: %s:%d: malformed XML: %v", name, line, err)
}

// Set sets key to value, unless key is final.
func (c *Config) Set(key, value string) {
	if old, ok := c.props[key]; ok && old.final {
		c.ignored = append(c.ignored, fmt.Sprintf("set: final %s (from %s) not overridden", key, old.source))
		return
	}
	c.props[key] = property{value: value, source: "set"}
}

// Sources lists the files read, in order.
func (c *Config) Sources() []string { return append([]string(nil), c.sources...) }

// IgnoredOverrides describes attempts to override final properties.
func (c *Config) IgnoredOverrides() []string { return append([]string(nil), c.ignored...) }

// Source tells where key's value came from: "file:line", "set", "default", or "" if unset.
func (c *Config) Source(key string) string {
	if p, ok := c.props[key]; ok {
		return p.source
	}
	if _, ok := Defaults[key]; ok {
		return "default"
	}
	return ""
}

// Keys returns the keys set in the loaded files (not the defaults), sorted.
func (c *Config) Keys() []string {
	keys := make([]string, 0, len(c.props))
	for k := range c.props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// deprecated maps current keys to the old names Hadoop still honours in site files.
var deprecated = map[string]string{
	"fs.defaultFS": "fs.default.name",
}

// Raw returns key's unexpanded value, falling back to a deprecated name of the key set in a
// file, then to Defaults.
func (c *Config) Raw(key string) (string, bool) {
	if p, ok := c.props[key]; ok {
		return p.value, true
	}
	if old, ok := deprecated[key]; ok {
		if p, ok := c.props[old]; ok {
			return p.value, true
		}
	}
	v, ok := Defaults[key]
	return v, ok
}

// Lookup returns key's expanded value and whether it is set (in a file or Defaults). It fails
// only on a substitution loop or a too deep substitution chain.
func (c *Config) Lookup(key string) (string, bool, error) {
	raw, ok := c.Raw(key)
	if !ok {
		return "", false, nil
	}
	v, err := c.expand(raw, []string{key})
	if err != nil {
		return "", true, err
	}
	return v, true, nil
}

// Get returns key's expanded value, or "" when unset. Use Lookup to see expansion errors; Get
// returns the raw value when expansion fails.
func (c *Config) Get(key string) string {
	v, _, err := c.Lookup(key)
	if err != nil {
		raw, _ := c.Raw(key)
		return raw
	}
	return v
}

// Int returns key as an integer, def when unset.
func (c *Config) Int(key string, def int64) (int64, error) {
	v, ok, err := c.Lookup(key)
	if err != nil || !ok || strings.TrimSpace(v) == "" {
		return def, err
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 0, 64)
	if err != nil {
		return def, fmt.Errorf("hconf: %s=%q (from %s) is not an integer", key, v, c.Source(key))
	}
	return n, nil
}

// Bool returns key as a boolean, def when unset.
func (c *Config) Bool(key string, def bool) (bool, error) {
	v, ok, err := c.Lookup(key)
	if err != nil || !ok || strings.TrimSpace(v) == "" {
		return def, err
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return def, fmt.Errorf("hconf: %s=%q (from %s) is not true or false", key, v, c.Source(key))
}

// Millis returns key, a count of milliseconds (Hadoop also accepts unit suffixes such as 10s),
// as a duration; def when unset.
func (c *Config) Millis(key string, def time.Duration) (time.Duration, error) {
	v, ok, err := c.Lookup(key)
	if err != nil || !ok || strings.TrimSpace(v) == "" {
		return def, err
	}
	d, perr := parseTimeDuration(strings.TrimSpace(v), time.Millisecond)
	if perr != nil {
		return def, fmt.Errorf("hconf: %s=%q (from %s): %v", key, v, c.Source(key), perr)
	}
	return d, nil
}

// parseTimeDuration parses Hadoop's getTimeDuration syntax: a number with an optional unit
// suffix (ns, us, ms, s, m, h, d); a bare number is in unit.
func parseTimeDuration(s string, unit time.Duration) (time.Duration, error) {
	suffixes := []struct {
		s string
		d time.Duration
	}{{"ns", time.Nanosecond}, {"us", time.Microsecond}, {"ms", time.Millisecond}, {"s", time.Second}, {"m", time.Minute}, {"h", time.Hour}, {"d", 24 * time.Hour}}
	ls := strings.ToLower(s)
	for _, sf := range suffixes {
		if strings.HasSuffix(ls, sf.s) {
			n, err := strconv.ParseInt(strings.TrimSpace(ls[:len(ls)-len(sf.s)]), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("not a duration")
			}
			return time.Duration(n) * sf.d, nil
		}
	}
	n, err := strconv.ParseInt(ls, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("not a duration")
	}
	return time.Duration(n) * unit, nil
}

// Strings returns key as a trimmed comma-separated list without empty entries.
func (c *Config) Strings(key string) ([]string, error) {
	v, _, err := c.Lookup(key)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

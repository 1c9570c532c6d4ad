package conf

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// Properties files: any content gives entries with a key and a value, or an
// error naming the file and line.
func FuzzLoadProperties(f *testing.F) {
	for _, s := range []string{
		"stoke.master local[2]\n",
		"# comment\n! also\n\nk=v\nk2 : v2\r\nk3\tv3\n",
		"\uFEFFk = v = w\n",
		"novalue\n",
		"=value\n",
		"k=\n",
		"k \\\n  continued\n",
		"a:b:c\n\n\n",
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "stoke-defaults.conf")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		entries, err := LoadProperties(path)
		if err != nil {
			if !strings.HasPrefix(err.Error(), path+":") {
				t.Fatalf("error does not name the file and line: %v", err)
			}
			return
		}
		for _, e := range entries {
			if e.Key == "" || strings.ContainsAny(e.Key, " \t\f=:\n") || e.Value == "" || strings.TrimSpace(e.Value) != e.Value || e.Source != SourcePropertiesFile {
				t.Fatalf("bad entry %+v", e)
			}
		}
	})
}

// Values of each type: a parse either succeeds with a sane value or fails
// with a message; a success parses the same way again.
func FuzzParseValue(f *testing.F) {
	for _, s := range []string{"0", "512m", "1g", "100b", "3s", "2min", "1d", "+5", "-1", "1.5", "9223372036854775807", "9223372036854775807p", "true", "FALSE", " 7 ", "NaN", "1e308", "inf", "", "kb"} {
		for _, unit := range []string{"", "ms", "s", "b", "m", "x"} {
			f.Add(s, unit)
		}
	}
	f.Fuzz(func(t *testing.T, s, unit string) {
		for _, typ := range []string{TypeString, TypeInt, TypeBool, TypeFloat, TypeDuration, TypeBytes} {
			v, err := parseTyped(typ, s, unit)
			if err != nil {
				if err.Error() == "" {
					t.Fatalf("%s %q: empty error", typ, s)
				}
				continue
			}
			switch x := v.(type) {
			case int64:
				if typ == TypeBytes && x < 0 {
					t.Fatalf("bytes %q (unit %q) = %d", s, unit, x)
				}
			case interface{ Nanoseconds() int64 }:
				if x.Nanoseconds() < 0 {
					t.Fatalf("duration %q (unit %q) = %v", s, unit, x)
				}
			}
			again, err := parseTyped(typ, s, unit)
			if err != nil || !reflect.DeepEqual(again, v) {
				t.Fatalf("%s %q: not deterministic", typ, s)
			}
		}
	})
}

// Master URLs: refused with a MasterError, or parsed into a kind whose
// addresses are host:port with a valid port; the parse is stable.
func FuzzParseMaster(f *testing.F) {
	for _, s := range []string{
		"local", "local[*]", "local[4]", "local[4,2]", "local[*,3]", "local-cluster[2,1,512]",
		"stoke://h:7077", "stoke://a,b:1", "yarn", "mesos://h:5050", "mesos://zk://z1:2181,z2/mesos",
		"spark://h:7077", "local[", "local[0]", "stoke://[::1]:7077", "mesos://zk://h/", "stoke://:0", " yarn ",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMaster(s)
		if err != nil {
			var me *MasterError
			if !errors.As(err, &me) || !strings.HasPrefix(err.Error(), "cannot parse master URL ") {
				t.Fatalf("%q: error %T %v", s, err, err)
			}
			return
		}
		if m.Kind < Local || m.Kind > Mesos {
			t.Fatalf("%q: kind %v", s, m.Kind)
		}
		for _, hp := range m.Hosts {
			host, port, err := net.SplitHostPort(hp)
			if err != nil || host == "" {
				t.Fatalf("%q: host %q: %v", s, hp, err)
			}
			if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
				t.Fatalf("%q: port of %q", s, hp)
			}
		}
		again, err := ParseMaster(m.Raw)
		if err != nil || !reflect.DeepEqual(again, m) {
			t.Fatalf("%q parses as %+v, its Raw %q as %+v (%v)", s, m, m.Raw, again, err)
		}
	})
}

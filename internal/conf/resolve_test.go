package conf

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadProperties(t *testing.T) {
	p := writeFile(t, t.TempDir(), "stoke-defaults.conf", "\uFEFF# comment\n"+
		"! another comment\n"+
		"\n"+
		"stoke.master   stoke://m1:7077\n"+
		"stoke.app.name=My App  \r\n"+
		"stoke.executor.memory : 2g\n"+
		"\tstoke.task.maxFailures\t8\n"+
		"stoke.log.level:debug\n"+
		"stoke.executor.memory 3g\n"+
		"custom.key = a = b\n")
	got, err := LoadProperties(p)
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{
		{"stoke.master", "stoke://m1:7077", SourcePropertiesFile},
		{"stoke.app.name", "My App", SourcePropertiesFile},
		{"stoke.executor.memory", "2g", SourcePropertiesFile},
		{"stoke.task.maxFailures", "8", SourcePropertiesFile},
		{"stoke.log.level", "debug", SourcePropertiesFile},
		{"stoke.executor.memory", "3g", SourcePropertiesFile},
		{"custom.key", "a = b", SourcePropertiesFile},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("LoadProperties =\n%v\nwant\n%v", got, want)
	}
}

func TestLoadPropertiesBadLines(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ text, want string }{
		{"stoke.master local\nstoke.app.name\n", `:2: key "stoke.app.name" has no value`},
		{"# c\n\nstoke.app.name =\n", `:3: key "stoke.app.name" has no value`},
		{"stoke.app.name:   \n", `:1: key "stoke.app.name" has no value`},
		{"= value\n", `:1: line starts with '=': missing key`},
		{": value\n", `:1: line starts with ':': missing key`},
	} {
		p := writeFile(t, dir, "bad.conf", tc.text)
		_, err := LoadProperties(p)
		if err == nil || !strings.Contains(err.Error(), p+tc.want) {
			t.Errorf("LoadProperties(%q) error = %v; want %q", tc.text, err, p+tc.want)
		}
	}
	_, err := LoadProperties(filepath.Join(dir, "missing.conf"))
	if err == nil || !strings.Contains(err.Error(), "missing.conf") {
		t.Errorf("missing file: %v", err)
	}
}

func TestReadPropertiesFile(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(ConfDirEnv, "")
	if DefaultPropertiesPath() != "" {
		t.Errorf("DefaultPropertiesPath with no STOKE_CONF_DIR = %q", DefaultPropertiesPath())
	}
	if e, p, err := ReadPropertiesFile(""); e != nil || p != "" || err != nil {
		t.Errorf("no conf dir: %v %q %v", e, p, err)
	}
	t.Setenv(ConfDirEnv, dir)
	if got, want := DefaultPropertiesPath(), filepath.Join(dir, "stoke-defaults.conf"); got != want {
		t.Errorf("DefaultPropertiesPath = %q, want %q", got, want)
	}
	// A missing default file is fine.
	if e, p, err := ReadPropertiesFile(""); e != nil || p != "" || err != nil {
		t.Errorf("missing default file: %v %q %v", e, p, err)
	}
	// An explicitly named missing file is not.
	if _, _, err := ReadPropertiesFile(filepath.Join(dir, "nope.conf")); err == nil || !strings.Contains(err.Error(), "nope.conf") {
		t.Errorf("missing explicit file: %v", err)
	}
	def := writeFile(t, dir, "stoke-defaults.conf", "stoke.app.name fromfile\n")
	if e, p, err := ReadPropertiesFile(""); len(e) != 1 || p != def || err != nil {
		t.Errorf("default file: %v %q %v", e, p, err)
	}
	writeFile(t, dir, "stoke-defaults.conf", "stoke.app.name\n")
	if _, _, err := ReadPropertiesFile(""); err == nil {
		t.Error("a bad default file must be an error")
	}
}

func TestSubmitEncoding(t *testing.T) {
	in := []Entry{
		{"stoke.master", "yarn", SourceSubmit},
		{"stoke.app.name", `we"ird=name, with\stuff`, SourceConfFlag},
		{"stoke.log.level", "debug", SourcePropertiesFile},
	}
	out, err := DecodeSubmit(EncodeSubmit(in))
	if err != nil || fmt.Sprint(out) != fmt.Sprint(in) {
		t.Errorf("round trip = %v, %v", out, err)
	}
	if got := EncodeSubmit(nil); got != "[]" {
		t.Errorf("EncodeSubmit(nil) = %q", got)
	}
	if out, err := DecodeSubmit("[]"); err != nil || len(out) != 0 {
		t.Errorf("DecodeSubmit([]) = %v, %v", out, err)
	}
	for _, tc := range []struct{ in, want string }{
		{"", "empty"},
		{"null", "empty"},
		{"{", "malformed STOKE_SUBMIT_CONF"},
		{`{"key":"a"}`, "malformed STOKE_SUBMIT_CONF"},
		{`[{"key":"a","value":"b","source":"code"}] junk`, "data after the JSON array"},
		{`[{"key":"a","value":1,"source":"code"}]`, "malformed STOKE_SUBMIT_CONF"},
		{`[{"key":"a","value":"b","source":"code","extra":1}]`, "unknown field"},
		{`[{"key":"","value":"b","source":"code"}]`, "entry 0 has an empty key"},
		{`[{"key":"a","value":"b","source":"code"},{"key":"c","value":"d","source":"moon"}]`, `entry 1 (c) has unknown source "moon"`},
		{`[{"key":"a","value":"b"}]`, `unknown source ""`},
	} {
		_, err := DecodeSubmit(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "STOKE_SUBMIT_CONF") {
			t.Errorf("DecodeSubmit(%q) error = %v; want it to mention %q", tc.in, err, tc.want)
		}
	}
}

func TestResolvePrecedence(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "stoke-defaults.conf", "stoke.app.name file\nstoke.log.level debug\nstoke.executor.cores 2\n")
	t.Setenv(ConfDirEnv, dir)

	// Not started by submit: properties file < code < nothing else.
	t.Setenv(SubmitConfEnv, "") // restores the variable after the test
	os.Unsetenv(SubmitConfEnv)
	c, warns, err := Resolve(map[string]string{"stoke.app.name": "code", "stoke.speculatoin": "true"})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.String("stoke.app.name"); got != "code" || c.SourceOf("stoke.app.name") != SourceCode {
		t.Errorf("app.name = %q from %s, want code from code", got, c.SourceOf("stoke.app.name"))
	}
	if got := c.String("stoke.log.level"); got != "debug" || c.SourceOf("stoke.log.level") != SourcePropertiesFile {
		t.Errorf("log.level = %q from %s", got, c.SourceOf("stoke.log.level"))
	}
	if got := c.String("stoke.task.maxFailures"); got != "4" || c.SourceOf("stoke.task.maxFailures") != SourceDefault {
		t.Errorf("maxFailures = %q from %s", got, c.SourceOf("stoke.task.maxFailures"))
	}
	if len(warns) != 1 || !strings.Contains(warns[0], "did you mean stoke.speculation?") {
		t.Errorf("warnings = %v", warns)
	}

	// Started by submit: the hand-off replaces the properties file (it
	// already holds it); code still wins.
	t.Setenv(SubmitConfEnv, EncodeSubmit([]Entry{
		{"stoke.app.name", "submit", SourceSubmit},
		{"stoke.master", "local[2]", SourceConfFlag},
		{"stoke.log.level", "warn", SourcePropertiesFile},
		{"stoke.typo.from.submit", "1", SourceConfFlag},
	}))
	c, warns, err = Resolve(map[string]string{"stoke.master": "local[3]", "stoke.typo.from.code": "x"})
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]Entry{
		"stoke.app.name":         {"stoke.app.name", "submit", SourceSubmit},
		"stoke.master":           {"stoke.master", "local[3]", SourceCode},
		"stoke.log.level":        {"stoke.log.level", "warn", SourcePropertiesFile},
		"stoke.executor.cores":   {"stoke.executor.cores", "1", SourceDefault},
		"stoke.task.maxFailures": {"stoke.task.maxFailures", "4", SourceDefault},
	} {
		got := Entry{key, c.String(key), c.SourceOf(key)}
		if got != want {
			t.Errorf("%s = %v, want %v", key, got, want)
		}
	}
	// Warnings about submit's own keys were printed by submit already.
	if len(warns) != 1 || !strings.Contains(warns[0], "stoke.typo.from.code") {
		t.Errorf("warnings = %v", warns)
	}

	// Code values are validated.
	if _, _, err := Resolve(map[string]string{"stoke.task.maxFailures": "0"}); err == nil ||
		!strings.Contains(err.Error(), `invalid value "0" for stoke.task.maxFailures`) {
		t.Errorf("bad code value: %v", err)
	}
}

func TestResolveErrors(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(ConfDirEnv, dir)
	t.Setenv(SubmitConfEnv, "{not json")
	if _, _, err := Resolve(nil); err == nil || !strings.Contains(err.Error(), "malformed STOKE_SUBMIT_CONF") {
		t.Errorf("malformed hand-off: %v", err)
	}
	os.Unsetenv(SubmitConfEnv)
	writeFile(t, dir, "stoke-defaults.conf", "stoke.master\n")
	if _, _, err := Resolve(nil); err == nil || !strings.Contains(err.Error(), "stoke-defaults.conf:1") {
		t.Errorf("bad properties file: %v", err)
	}
	writeFile(t, dir, "stoke-defaults.conf", "stoke.master mars://x\nstoke.scheduler.mode LIFO\n")
	_, _, err := Resolve(nil)
	if err == nil || !strings.Contains(err.Error(), `invalid value "mars://x" for stoke.master`) ||
		!strings.Contains(err.Error(), `invalid value "LIFO" for stoke.scheduler.mode`) {
		t.Errorf("bad values in properties file: %v", err)
	}
	// No conf dir, no hand-off: defaults only.
	t.Setenv(ConfDirEnv, "")
	c, warns, err := Resolve(nil)
	if err != nil || len(warns) != 0 || len(c.All()) != 0 {
		t.Errorf("empty resolve: %v %v %v", c.All(), warns, err)
	}
}

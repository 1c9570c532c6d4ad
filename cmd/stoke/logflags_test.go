package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stoke-run/stoke/internal/conf"
)

// --log-level and --log-format, given before any command, set
// stoke.log.level and stoke.log.format above --conf and the properties
// file.
func TestGlobalLogFlagsSetTheKeys(t *testing.T) {
	dir := isolate(t)
	bin := dir + "/app"
	writeFile(t, bin, "#!/bin/sh\n", 0o755)
	o, rest, err := parseSubmitArgs([]string{"--master", "local[1]", "--conf", "stoke.log.format=text", bin})
	if err != nil {
		t.Fatal(err)
	}
	o.log = &app{logLevel: "debug", logFormat: "json"}
	p, err := resolveSubmit(o, rest)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"stoke.log.level": "debug", "stoke.log.format": "json"} {
		if got := p.conf.String(k); got != want || p.conf.SourceOf(k) != conf.SourceSubmit {
			t.Errorf("%s = %q from %s, want %q from the flag", k, got, p.conf.SourceOf(k), want)
		}
	}
}

// A log format or level stoke does not know is refused with the key and
// the values allowed, by every command that reads its configuration.
func TestBadLogFlagsAreRefused(t *testing.T) {
	isolate(t)
	for _, args := range [][]string{
		{"--log-format", "xml", "master", "--host", "127.0.0.1", "--port", "0", "--webui-port", "-1"},
		{"--log-level", "loud", "worker", "stoke://127.0.0.1:1"},
	} {
		var out, errb bytes.Buffer
		code := Execute(args, nil, &out, &errb)
		key := "stoke.log.format"
		if args[0] == "--log-level" {
			key = "stoke.log.level"
		}
		if code == 0 || !strings.Contains(errb.String(), key) {
			t.Errorf("%v: exit %d, stderr %q; want a refusal naming %s", args, code, errb.String(), key)
		}
	}
}

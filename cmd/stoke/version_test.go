package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestVersionAndHelp(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Execute([]string{"version"}, nil, &out, &errb); code != 0 {
		t.Fatalf("version exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "stoke "+Version) || !strings.Contains(out.String(), "go go1.") {
		t.Errorf("version output %q", out.String())
	}
	out.Reset()
	if code := Execute([]string{"--help"}, nil, &out, &errb); code != 0 {
		t.Fatalf("help exit %d", code)
	}
	for _, sub := range []string{"submit", "version"} {
		if !strings.Contains(out.String(), sub) {
			t.Errorf("help lacks %s:\n%s", sub, out.String())
		}
	}
	if code := Execute([]string{"version", "extra"}, nil, &out, &errb); code == 0 {
		t.Error("version with an argument must fail")
	}
}

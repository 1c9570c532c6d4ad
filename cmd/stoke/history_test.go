package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHistoryRefusesMissingAndMalformedLogs(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "app.jsonl")
	os.WriteFile(bad, []byte("{\"Event\":\"JobStart\",\"jobId\":1}\nnot json at all\n{\"Event\":\"JobEnd\",\"jobId\":1}\n"), 0o644)
	for path, want := range map[string]string{"/no/such/log.jsonl": "no such file", bad: "line 2"} {
		var out, errb bytes.Buffer
		code := Execute([]string{"history", path}, nil, &out, &errb)
		if code == 0 || !strings.Contains(errb.String(), want) {
			t.Errorf("history %s: code %d, stderr %q; want an error mentioning %q", path, code, errb.String(), want)
		}
	}
}

package logging

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
)

func TestJSONFormatIsOneObjectPerLine(t *testing.T) {
	var buf bytes.Buffer
	log := logrus.New()
	log.SetOutput(&buf)
	if err := Apply(log, "debug", "json"); err != nil {
		t.Fatal(err)
	}
	log.WithField("executor", "3").Debug("task 7 finished")
	log.Info(`a "quoted" message`)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines: %q", len(lines), buf.String())
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatalf("not JSON: %q: %v", lines[0], err)
	}
	if first["level"] != "debug" || first["msg"] != "task 7 finished" || first["executor"] != "3" || first["time"] == nil {
		t.Fatalf("fields: %v", first)
	}
}

func TestTextFormatAndLevel(t *testing.T) {
	var buf bytes.Buffer
	log := logrus.New()
	log.SetOutput(&buf)
	if err := Apply(log, "warn", "text"); err != nil {
		t.Fatal(err)
	}
	log.Info("hidden")
	log.Warn("shown")
	if out := buf.String(); strings.Contains(out, "hidden") || !strings.Contains(out, `level=warning msg=shown`) {
		t.Fatalf("output: %q", out)
	}
}

func TestBadValues(t *testing.T) {
	log := logrus.New()
	for _, c := range []struct{ level, format, want string }{
		{"loud", "", `log level "loud"`},
		{"", "xml", `log format "xml": use text or json`},
		{"", "JSON ", `log format "JSON "`},
	} {
		if err := Apply(log, c.level, c.format); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Apply(%q, %q) = %v, want %q", c.level, c.format, err, c.want)
		}
	}
	if err := Apply(log, "", ""); err != nil {
		t.Errorf("empty values: %v", err)
	}
}

package aggrlog

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestNodeManagerFiles reads files Hadoop 3.5 NodeManagers wrote in
// yarn.TestYARNLogs (STOKE_SAVE_AGGREGATED_LOG), named
// APPLICATION-FORMAT[-gz]: each holds the marker lines the tasks wrote to
// their executor's stderr, in the logs of the container they name; every
// cut of the file is an error.
func TestNodeManagerFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/application_*")
	if err != nil || len(files) < 4 {
		t.Fatalf("testdata: %v %v", files, err)
	}
	marker := regexp.MustCompile(`stoke-logs-marker-\d in (container_\S+)`)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			appID, format, _ := strings.Cut(filepath.Base(f), "-")
			got, err := Detect(bytes.NewReader(b), int64(len(b)), appID)
			if err != nil || !strings.HasPrefix(format, got.String()) {
				t.Fatalf("Detect: %v %v", got, err)
			}
			read := readTFile
			if got == IFile {
				read = func(r io.ReaderAt, size int64, want func(string) bool, visit Visitor) error {
					return ReadIFile(r, size, appID, want, visit)
				}
			}
			logs, err := collect(read, b, nil)
			if err != nil {
				t.Fatal(err)
			}
			markers, names := 0, map[string]bool{}
			for _, l := range logs {
				names[l.name] = true
				if !strings.HasPrefix(l.container, "container_"+strings.TrimPrefix(appID, "application_")+"_") {
					t.Errorf("container %s in a file of %s", l.container, appID)
				}
				for _, m := range marker.FindAllStringSubmatch(l.content, -1) {
					markers++
					if m[1] != l.container || l.name != "stderr" {
						t.Errorf("the marker of %s is in %s of %s", m[1], l.name, l.container)
					}
				}
			}
			if markers != 4 || !names["stderr"] || !names["stdout"] {
				t.Fatalf("%d markers, log names %v", markers, names)
			}
			step := len(b)/300 + 1
			for n := 0; n < len(b); n += step {
				if logs, err := collect(read, b[:n], nil); !errors.Is(err, ErrMalformed) && !(n == ifileUUIDLen && err == nil && len(logs) == 0) {
					t.Fatalf("cut to %d of %d bytes: %v", n, len(b), err)
				}
			}
		})
	}
}

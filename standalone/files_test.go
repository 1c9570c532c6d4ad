package standalone_test

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stoke-run/stoke"
)

// readShipped reads, in the executor's working directory, the file its
// record names.
var readShipped = stoke.RegisterMap("standalone_test.readShipped", func(name string) string {
	b, err := os.ReadFile(name)
	if err != nil {
		return "error: " + err.Error()
	}
	return strings.TrimSpace(string(b))
})

// stoke.files and stoke.archives reach every executor's working directory
// on a standalone cluster: a file under its name (or #alias), an archive
// unpacked into a directory of its name; tasks read them.
func TestFilesAndArchivesReachExecutors(t *testing.T) {
	if testing.Short() {
		t.Skip("starts executor processes")
	}
	dir := t.TempDir()
	lookup := filepath.Join(dir, "lookup.txt")
	os.WriteFile(lookup, []byte("the lookup table\n"), 0o644)
	model := filepath.Join(dir, "model-v3.bin")
	os.WriteFile(model, []byte("weights\n"), 0o644)
	dict := filepath.Join(dir, "dict.tar.gz")
	f, _ := os.Create(dict)
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	body := "alpha beta\n"
	tw.WriteHeader(&tar.Header{Name: "words/en.txt", Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
	tw.Write([]byte(body))
	tw.Close()
	gz.Close()
	f.Close()

	sc, _ := runApp(t, "local-cluster[2,1,512]", 2, stoke.Config{"stoke.executor.memory": "256m",
		"stoke.files": lookup + "," + model + "#model.bin", "stoke.archives": dict + "#dict"})
	names, err := stoke.Parallelize(sc, []string{"lookup.txt", "model.bin", "dict/words/en.txt", "lookup.txt", "model.bin", "dict/words/en.txt"}, 6)
	if err != nil {
		t.Fatal(err)
	}
	got, err := stoke.Collect(context.Background(), stoke.Map(names, readShipped))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"the lookup table", "weights", "alpha beta", "the lookup table", "weights", "alpha beta"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("tasks read %q, want %q", got, want)
	}
}

// Malformed stoke.files and stoke.archives are refused before the
// application registers, naming the key and the entry.
func TestMalformedFilesRefused(t *testing.T) {
	dir := t.TempDir()
	ok := filepath.Join(dir, "ok.txt")
	os.WriteFile(ok, []byte("x"), 0o644)
	for _, c := range []struct {
		key, value, want string
	}{
		{"stoke.files", filepath.Join(dir, "missing.txt"), "no such file"},
		{"stoke.files", dir, "not a regular file"},
		{"stoke.files", ok + "#stderr", "Stoke's own"},
		{"stoke.files", ok + "#a/b", "plain file name"},
		{"stoke.files", ok + "," + ok, "would both be"},
		{"stoke.files", "hdfs://nn:8020/x.txt", "only local paths"},
		{"stoke.archives", ok, "an archive must end in one of"},
	} {
		_, err := stoke.New(stoke.Config{"stoke.master": "local-cluster[1,1,512]", "stoke.ui.enabled": "false",
			"stoke.driver.allowMultipleContexts": "true", "stoke.executor.memory": "256m", c.key: c.value})
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.key) {
			t.Errorf("%s=%q: %v, want an error naming the key with %q", c.key, c.value, err, c.want)
		}
	}
}

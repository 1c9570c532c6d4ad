package distfiles

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type entry struct {
	name, body string
	typ        byte // tar type; 0 regular
	link       string
}

func tarOf(t *testing.T, gz bool, es []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w *tar.Writer
	var g *gzip.Writer
	if gz {
		g = gzip.NewWriter(&buf)
		w = tar.NewWriter(g)
	} else {
		w = tar.NewWriter(&buf)
	}
	for _, e := range es {
		h := &tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.body)), Typeflag: e.typ, Linkname: e.link}
		if e.typ == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		if err := w.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			w.Write([]byte(e.body))
		}
	}
	w.Close()
	if g != nil {
		g.Close()
	}
	return buf.Bytes()
}

func zipOf(t *testing.T, es []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, e := range es {
		h := &zip.FileHeader{Name: e.name}
		if e.link != "" {
			h.SetMode(os.ModeSymlink | 0o777)
		}
		f, err := w.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if e.link != "" {
			f.Write([]byte(e.link))
		} else {
			f.Write([]byte(e.body))
		}
	}
	w.Close()
	return buf.Bytes()
}

func unpack(t *testing.T, name string, data []byte, l Limits) (string, error) {
	t.Helper()
	root := t.TempDir()
	src := filepath.Join(root, name)
	if err := os.WriteFile(src, data, 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "work", "alias")
	os.MkdirAll(filepath.Dir(dir), 0o755)
	return dir, Unpack(src, name, dir, l)
}

func TestUnpackEveryFormat(t *testing.T) {
	files := []entry{{name: "dict/words.txt", body: "alpha\nbeta\n"}, {name: "README", body: "hi"}}
	for name, data := range map[string][]byte{
		"a.tar.gz": tarOf(t, true, files), "a.tgz": tarOf(t, true, files), "a.tar": tarOf(t, false, files),
		"a.zip": zipOf(t, files), "a.jar": zipOf(t, files),
	} {
		dir, err := unpack(t, name, data, Limits{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if b, err := os.ReadFile(filepath.Join(dir, "dict", "words.txt")); err != nil || string(b) != "alpha\nbeta\n" {
			t.Errorf("%s: dict/words.txt = %q, %v", name, b, err)
		}
	}
}

// TestAttackHostileArchives: entries that would land outside the
// directory (absolute, "..", through a link), links and devices, archives
// over their bounds and damaged archives are refused; nothing is written
// outside the directory and the directory is removed.
func TestAttackHostileArchives(t *testing.T) {
	cases := map[string]struct {
		name string
		data []byte
		l    Limits
		want string
	}{
		"tar dot-dot":      {"x.tar", tarOf(t, false, []entry{{name: "../escaped", body: "x"}}), Limits{}, "outside"},
		"tar deep dot-dot": {"x.tar.gz", tarOf(t, true, []entry{{name: "a/../../escaped", body: "x"}}), Limits{}, "outside"},
		"tar absolute":     {"x.tar", tarOf(t, false, []entry{{name: "/tmp/escaped", body: "x"}}), Limits{}, "outside"},
		"tar symlink":      {"x.tar", tarOf(t, false, []entry{{name: "l", typ: tar.TypeSymlink, link: "/etc"}, {name: "l/passwd", body: "x"}}), Limits{}, "link"},
		"tar hard link":    {"x.tar", tarOf(t, false, []entry{{name: "h", typ: tar.TypeLink, link: "/etc/passwd"}}), Limits{}, "link"},
		"tar device":       {"x.tar", tarOf(t, false, []entry{{name: "d", typ: tar.TypeChar}}), Limits{}, "special"},
		"zip dot-dot":      {"x.zip", zipOf(t, []entry{{name: "../../escaped", body: "x"}}), Limits{}, "outside"},
		"zip symlink":      {"x.zip", zipOf(t, []entry{{name: "l", link: "/etc"}}), Limits{}, "link"},
		"too many bytes":   {"x.tar", tarOf(t, false, []entry{{name: "big", body: strings.Repeat("x", 2000)}}), Limits{MaxBytes: 1000}, "more than 1000 bytes"},
		"too many entries": {"x.zip", zipOf(t, []entry{{name: "a"}, {name: "b"}, {name: "c"}}), Limits{MaxEntries: 2}, "more than 2 entries"},
		"duplicate entry":  {"x.tar", tarOf(t, false, []entry{{name: "a", body: "1"}, {name: "a", body: "2"}}), Limits{}, "exists"},
		"not gzip":         {"x.tgz", []byte("plain text"), Limits{}, "not gzip"},
		"not zip":          {"x.zip", []byte("plain text"), Limits{}, "not a zip"},
		"cut tar":          {"x.tar", tarOf(t, false, []entry{{name: "a", body: strings.Repeat("y", 4096)}})[:700], Limits{}, "EOF"},
	}
	for name, c := range cases {
		dir, err := unpack(t, c.name, c.data, c.l)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", name, err, c.want)
		}
		if _, serr := os.Stat(dir); !os.IsNotExist(serr) {
			t.Errorf("%s: the refused archive's directory is left", name)
		}
		parent := filepath.Dir(filepath.Dir(dir))
		filepath.WalkDir(parent, func(p string, d os.DirEntry, err error) error {
			if err == nil && strings.Contains(p, "escaped") {
				t.Errorf("%s: %s was written outside the directory", name, p)
			}
			return nil
		})
	}
}

func TestParseForAClusterManager(t *testing.T) {
	exists := func(p string) error {
		if strings.Contains(p, "missing") {
			return os.ErrNotExist
		}
		return nil
	}
	o := Options{Reserved: map[string]bool{"stoke-app": true}, Stat: exists, Where: "every executor's directory"}
	seen := map[string]string{}
	es, err := Parse("/d/lookup.txt,/d/m.bin#model", false, seen, o)
	if err != nil || len(es) != 2 || es[1].Alias != "model" || es[1].Remote {
		t.Fatalf("%+v %v", es, err)
	}
	for list, want := range map[string]string{
		"hdfs://nn:8020/a.txt":             "only local paths can be shipped to every executor's directory",
		"/d/missing.txt":                   "does not exist",
		"/d/a#stoke-app":                   "Stoke's own",
		"/d/lookup.txt":                    "would both be",
		"/d/a#" + strings.Repeat("n", 256): "plain file name",
	} {
		if _, err := Parse(list, false, map[string]string{"lookup.txt": "/d/lookup.txt"}, o); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", list, err, want)
		}
	}
}

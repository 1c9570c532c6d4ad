package spill

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func getter(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestDirsSpreadOverRoots(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	d, err := DirsFrom(getter(map[string]string{KeyLocalDir: " " + a + ", ," + b + "," + a}), nil, "app/exec 7")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Remove()
	paths := d.Paths()
	if len(paths) != 2 {
		t.Fatalf("Paths() = %v, want one per distinct root", paths)
	}
	for i, root := range []string{a, b} {
		if filepath.Dir(paths[i]) != root {
			t.Errorf("dir %s is not directly under root %s", paths[i], root)
		}
		if base := filepath.Base(paths[i]); !strings.HasPrefix(base, "stoke-app_exec_7-") {
			t.Errorf("dir name %q, want stoke-app_exec_7-<random>", base)
		}
		fi, err := os.Stat(paths[i])
		if err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("dir %s mode %v (%v), want 0700", paths[i], fi.Mode().Perm(), err)
		}
	}
	count := map[string]int{}
	for range 6 {
		f, err := d.Create("run")
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		count[filepath.Dir(f.Name())]++
	}
	if count[paths[0]] != 3 || count[paths[1]] != 3 {
		t.Errorf("files per dir %v, want 3 each", count)
	}
	if err := d.Remove(); err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s survived Remove: %v", p, err)
		}
	}
	for _, root := range []string{a, b} {
		if _, err := os.Stat(root); err != nil {
			t.Errorf("Remove deleted the root %s: %v", root, err)
		}
	}
}

func TestDirsDefaultToTempDir(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	d, err := DirsFrom(getter(nil), nil, "")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Remove()
	if p := d.Paths(); len(p) != 1 || filepath.Dir(p[0]) != tmp || !strings.HasPrefix(filepath.Base(p[0]), "stoke-executor-") {
		t.Errorf("Paths() = %v, want one stoke-executor-* dir in %s", p, tmp)
	}
}

func TestDirsBadRoots(t *testing.T) {
	good := t.TempDir()
	file := filepath.Join(good, "plain")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, value, want string
	}{
		{"missing", filepath.Join(good, "nope"), "does not exist"},
		{"not a directory", file, "is not a directory"},
		{"empty list", " , ", "lists no directory"},
		{"one bad among good", good + "," + filepath.Join(good, "nope"), "does not exist"},
	}
	if os.Geteuid() != 0 {
		ro := filepath.Join(good, "ro")
		if err := os.Mkdir(ro, 0o500); err != nil {
			t.Fatal(err)
		}
		tests = append(tests, struct{ name, value, want string }{"read-only", ro, "is not writable"})
	} else if fi, err := os.Stat("/sys"); err == nil && fi.IsDir() {
		// root ignores permission bits, but not sysfs.
		tests = append(tests, struct{ name, value, want string }{"read-only", "/sys", "is not writable"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := DirsFrom(getter(map[string]string{KeyLocalDir: tt.value}), nil, "e1")
			if err == nil {
				d.Remove()
				t.Fatalf("no error for %q", tt.value)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), KeyLocalDir) {
				t.Errorf("error %q, want one naming %s and saying %q", err, KeyLocalDir, tt.want)
			}
		})
	}
	// The failed attempt with a good root first left nothing behind.
	entries, _ := os.ReadDir(good)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "stoke-") {
			t.Errorf("failed NewDirs left %s in %s", e.Name(), good)
		}
	}
}

func TestClusterRootsWinOverLocalDir(t *testing.T) {
	conf, yarnDir, workerDir, mesosDir := t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir()
	get := getter(map[string]string{KeyLocalDir: conf})
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"YARN container", map[string]string{"LOCAL_DIRS": yarnDir, "CONTAINER_ID": "container_1_0001_01_000002", EnvLocalDirs: workerDir, "MESOS_DIRECTORY": mesosDir}, yarnDir},
		{"LOCAL_DIRS outside a container is not YARN's", map[string]string{"LOCAL_DIRS": yarnDir}, conf},
		{"worker", map[string]string{EnvLocalDirs: workerDir, "MESOS_DIRECTORY": mesosDir}, workerDir},
		{"Mesos sandbox", map[string]string{"MESOS_DIRECTORY": mesosDir}, mesosDir},
		{"none", nil, conf},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := DirsFrom(get, env(tt.env), "7")
			if err != nil {
				t.Fatal(err)
			}
			defer d.Remove()
			if p := d.Paths(); len(p) != 1 || filepath.Dir(p[0]) != tt.want {
				t.Errorf("Paths() = %v, want one directory under %s", p, tt.want)
			}
		})
	}
}

func TestClusterRootsBad(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "gone")
	for name, env := range map[string]map[string]string{
		"missing worker dir": {EnvLocalDirs: missing},
		"empty YARN list":    {"LOCAL_DIRS": " , ", "CONTAINER_ID": "container_1_0001_01_000002"},
	} {
		t.Run(name, func(t *testing.T) {
			d, err := DirsFrom(getter(nil), func(k string) string { return env[k] }, "7")
			if err == nil {
				d.Remove()
				t.Fatal("no error")
			}
			var from string
			for k := range env {
				if k != "CONTAINER_ID" {
					from = k
				}
			}
			if !strings.Contains(err.Error(), from) {
				t.Errorf("error %q does not name %s, where the roots came from", err, from)
			}
		})
	}
}

func TestCompressionFrom(t *testing.T) {
	tests := []struct {
		name    string
		set     map[string]string
		want    string
		wantErr string
	}{
		{name: "default", want: CodecZstd},
		{name: "gzip", set: map[string]string{KeyCodec: "gzip"}, want: CodecGzip},
		{name: "upper case", set: map[string]string{KeyCodec: " ZSTD "}, want: CodecZstd},
		{name: "none", set: map[string]string{KeyCodec: "none"}, want: CodecNone},
		{name: "compression off", set: map[string]string{KeySpillCompress: "false", KeyCodec: "gzip"}, want: CodecNone},
		{name: "compression on", set: map[string]string{KeySpillCompress: "TRUE"}, want: CodecZstd},
		{name: "unknown codec", set: map[string]string{KeyCodec: "lz4"},
			wantErr: `stoke.io.compression.codec must be zstd, gzip or none, got "lz4"`},
		{name: "unknown codec even when off", set: map[string]string{KeyCodec: "snappy", KeySpillCompress: "false"},
			wantErr: "stoke.io.compression.codec must be zstd, gzip or none"},
		{name: "bad bool", set: map[string]string{KeySpillCompress: "maybe"},
			wantErr: `stoke.shuffle.spill.compress must be true or false, got "maybe"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := CompressionFrom(getter(tt.set))
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr && !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Name() != tt.want {
				t.Errorf("codec %s, want %s", c.Name(), tt.want)
			}
		})
	}
}

package mesos

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/internal/testutil"
)

// rawGet sends path as written (no client-side cleaning) and returns the
// status and body.
func rawGet(t *testing.T, base, path string) (int, string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), testutil.D(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(testutil.D(30 * time.Second)))
	io.WriteString(conn, "GET "+path+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestAttackFileGrants: a one-time URL of one of stoke.files serves that
// file only, once. Whoever holds a token (read from the Mesos state) cannot
// reach another path of the driver's machine with it: not through the name
// in the URL (plain, "..", encoded slashes, an absolute path), not after its
// one use, not on the secrets' endpoint, and a token of another kind (the
// secrets') serves no file; a granted file replaced by a directory is not
// listed.
func TestAttackFileGrants(t *testing.T) {
	dir := t.TempDir()
	lookup := filepath.Join(dir, "lookup.txt")
	secret := filepath.Join(dir, "secret.txt")
	os.WriteFile(lookup, []byte("granted"), 0o644)
	os.WriteFile(secret, []byte("NOT-GRANTED"), 0o600)
	fs, err := serveGrants("127.0.0.1", "", newGrants(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fs.close()
	tokenOf := func(u string) string {
		rest := strings.TrimPrefix(u, fs.base()+"/b/")
		return strings.TrimSuffix(rest, "/file")
	}

	// Each name in the URL is ignored: the grant says which file is served
	// (control: the granted file comes back), and a second use is refused.
	for _, name := range []string{"secret.txt", "..%2fsecret.txt", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "..%5csecret.txt"} {
		tok := tokenOf(fs.fileURL("exec-1", lookup))
		code, body := rawGet(t, fs.base(), "/b/"+tok+"/"+name)
		if code != http.StatusOK || body != "granted" {
			t.Fatalf("name %q: %d %q, want the granted file only", name, code, body)
		}
		if code, body := rawGet(t, fs.base(), "/b/"+tok+"/"+name); code != http.StatusNotFound || strings.Contains(body, "granted") {
			t.Fatalf("second use of a token with name %q: %d %q", name, code, body)
		}
	}
	// Unclean paths: redirected or refused, never another file, and the
	// token is not spent by a request that did not reach it.
	tok := tokenOf(fs.fileURL("exec-1", lookup))
	for _, p := range []string{
		"/b/" + tok + "/../../" + secret,
		"/b/" + tok + "/../../../../../../etc/passwd",
		"/b/../" + secret,
		"/b/" + tok + "/file/../../g/" + tok,
		"/" + secret,
		"/b/" + tok,
		"/b/" + tok + "/",
	} {
		code, body := rawGet(t, fs.base(), p)
		if code == http.StatusOK || strings.Contains(body, "NOT-GRANTED") || strings.Contains(body, "root:") {
			t.Fatalf("GET %s: %d %q", p, code, body)
		}
	}
	// The token on the secrets' endpoint gives nothing (and spends it).
	req, _ := http.NewRequest(http.MethodPost, fs.secretsBase()+"/g/"+tok, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK || strings.Contains(string(b), "granted") {
		t.Fatalf("a file token on the secrets' endpoint: %d %q", resp.StatusCode, b)
	}
	// A secrets' token serves no file.
	g := strings.TrimPrefix(fs.envURL("exec-1", map[string]string{"STOKE_X": "sekrit"}), fs.secretsBase()+"/g/")
	if code, body := rawGet(t, fs.base(), "/b/"+g+"/file"); code == http.StatusOK || strings.Contains(body, "sekrit") {
		t.Fatalf("a secrets' token on the file endpoint: %d %q", code, body)
	}
	// A granted file replaced by a directory is not listed.
	victim := filepath.Join(dir, "victim.txt")
	os.WriteFile(victim, []byte("v"), 0o644)
	tok = tokenOf(fs.fileURL("exec-1", victim))
	os.Remove(victim)
	os.Mkdir(victim, 0o755)
	os.WriteFile(filepath.Join(victim, "inside.txt"), []byte("x"), 0o644)
	if code, body := rawGet(t, fs.base(), "/b/"+tok+"/file"); code == http.StatusOK || strings.Contains(body, "inside.txt") {
		t.Fatalf("a granted path now a directory: %d %q", code, body)
	}
	// Every executor gets its own token for the same file.
	if a, b := fs.fileURL("exec-1", lookup), fs.fileURL("exec-2", lookup); a == b {
		t.Fatal("two executors share a file URL")
	}
}

// TestAttackUnpackArchivesEnv: a process refuses an EnvArchives that names
// anything but a fetched archive under a plain name in its working
// directory (a forged or corrupted environment cannot move or unpack files
// elsewhere), and a malformed one, with errors naming the variable.
func TestAttackUnpackArchivesEnv(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	outside := filepath.Join(t.TempDir(), "x.tgz")
	os.WriteFile(outside, []byte("not touched"), 0o644)
	for _, v := range []string{
		`{not json`,
		`{"../x": "x.tgz"}`,
		`{"` + outside + `": "x.tgz"}`,
		`{"dict": "../x.tgz"}`,
		`{"dict": "x.txt"}`,
		`{"dict": "x.tgz"}`, // nothing fetched under dict
	} {
		t.Setenv(EnvArchives, v)
		err := UnpackArchives()
		if err == nil || !strings.Contains(err.Error(), "STOKE_MESOS_ARCHIVES") && !strings.Contains(err.Error(), "stoke.archives") {
			t.Fatalf("%s=%s: %v", EnvArchives, v, err)
		}
		if os.Getenv(EnvArchives) != "" {
			t.Fatalf("%s left set", EnvArchives)
		}
	}
	if b, _ := os.ReadFile(outside); string(b) != "not touched" {
		t.Fatal("a file outside the working directory was touched")
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
		t.Fatalf("refused archives left %v", left)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".stoke-unpack-*")); len(left) != 0 {
		t.Fatalf("refused archives left %v", left)
	}
}

// TestDistURIs: the fetcher is asked for every entry under its name,
// never to extract (archives are unpacked by the process) nor to make it
// executable; URIs go as written, local paths (relative ones made absolute
// first) behind one-time URLs of the grant server; EnvArchives lists the
// archives with their original names.
func TestDistURIs(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	os.WriteFile("lookup.txt", []byte("l"), 0o644)
	os.WriteFile("d.tar.gz", []byte("x"), 0o644)
	c := conf.New()
	c.Set("stoke.files", "lookup.txt, hdfs://nn:8020/m/model.bin#model", conf.SourceSubmit)
	c.Set("stoke.archives", "d.tar.gz#dict,https://h/z.zip", conf.SourceSubmit)
	es, err := parseDist(c, "stoke-executor", false)
	if err != nil {
		t.Fatal(err)
	}
	if es[0].Src != filepath.Join(dir, "lookup.txt") {
		t.Fatalf("relative path kept: %q", es[0].Src)
	}
	fs, err := serveGrants("127.0.0.1", "", newGrants(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fs.close()
	uris, archives := distURIs(es, "exec-1", fs)
	want := []struct{ value, name string }{
		{fs.base() + "/b/", "lookup.txt"}, {"hdfs://nn:8020/m/model.bin", "model"},
		{fs.base() + "/b/", "dict"}, {"https://h/z.zip", "z.zip"},
	}
	if len(uris) != len(want) {
		t.Fatalf("URIs %+v", uris)
	}
	for i, u := range uris {
		if !strings.HasPrefix(u.Value, want[i].value) || u.GetOutputFile() != want[i].name || u.GetExtract() || u.GetExecutable() || u.GetCache() {
			t.Errorf("URI %d: %v %q extract=%v executable=%v cache=%v, want %s… %q, no extract", i, u.Value, u.GetOutputFile(), u.GetExtract(), u.GetExecutable(), u.GetCache(), want[i].value, want[i].name)
		}
	}
	if archives != `{"dict":"d.tar.gz","z.zip":"z.zip"}` {
		t.Fatalf("%s = %s", EnvArchives, archives)
	}
	// Cluster mode: URIs only.
	if _, err := parseDist(c, driverBinaryName, true); err == nil || !strings.Contains(err.Error(), "stoke.files") || !strings.Contains(err.Error(), "cluster mode") {
		t.Fatalf("cluster mode with a local path: %v", err)
	}
}

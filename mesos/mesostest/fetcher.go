package mesostest

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// fetch copies or downloads one URI into the sandbox dir as the Mesos
// fetcher does: local paths and file:// URIs are copied, http(s) URIs
// downloaded; executable URIs are made executable and never extracted;
// archives (.tar, .tar.gz, .tgz, .zip, .gz) are extracted unless extract is
// false.
func fetch(u mesos.CommandInfo_URI, dir string) error {
	src := u.Value
	parsed, err := url.Parse(src)
	if err != nil {
		return fmt.Errorf("URI %q: %v", src, err)
	}
	name := u.GetOutputFile()
	if name == "" {
		name = path.Base(parsed.Path)
	}
	if name == "" || name == "." || name == "/" || path.IsAbs(name) || escapes(name) {
		return fmt.Errorf("URI %q: cannot derive a file name", src)
	}
	dst := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	switch parsed.Scheme {
	case "http", "https":
		err = download(src, dst)
	case "file":
		err = copyFile(parsed.Path, dst)
	case "":
		if !filepath.IsAbs(src) {
			return fmt.Errorf("URI %q: a local path must be absolute", src)
		}
		err = copyFile(src, dst)
	default:
		return fmt.Errorf("URI %q: scheme %q is not supported by the mesostest fetcher", src, parsed.Scheme)
	}
	if err != nil {
		return fmt.Errorf("URI %q: %v", src, err)
	}
	if u.GetExecutable() {
		return os.Chmod(dst, 0o755)
	}
	if u.GetExtract() {
		if err := extract(dst, dir); err != nil {
			return fmt.Errorf("URI %q: extracting %s: %v", src, name, err)
		}
	}
	return nil
}

// escapes says whether a relative output_file leaves the sandbox (a ".."
// element; Mesos refuses those, as it does absolute paths).
func escapes(name string) bool {
	for _, e := range strings.Split(name, "/") {
		if e == ".." {
			return true
		}
	}
	return false
}

func download(src, dst string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %s", resp.Status)
	}
	return writeFile(dst, resp.Body, 0o644)
}

func copyFile(src, dst string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.IsDir() {
		return fmt.Errorf("%s is a directory", src)
	}
	return writeFile(dst, f, st.Mode().Perm())
}

func writeFile(dst string, r io.Reader, mode os.FileMode) error {
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, r); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func extract(file, dir string) error {
	lower := strings.ToLower(file)
	switch {
	case strings.HasSuffix(lower, ".tar.gz"), strings.HasSuffix(lower, ".tgz"):
		f, err := os.Open(file)
		if err != nil {
			return err
		}
		defer f.Close()
		gz, err := gzip.NewReader(f)
		if err != nil {
			return err
		}
		return untar(gz, dir)
	case strings.HasSuffix(lower, ".tar"):
		f, err := os.Open(file)
		if err != nil {
			return err
		}
		defer f.Close()
		return untar(f, dir)
	case strings.HasSuffix(lower, ".zip"):
		return unzip(file, dir)
	case strings.HasSuffix(lower, ".gz"):
		f, err := os.Open(file)
		if err != nil {
			return err
		}
		defer f.Close()
		gz, err := gzip.NewReader(f)
		if err != nil {
			return err
		}
		return writeFile(strings.TrimSuffix(file, filepath.Ext(file)), gz, 0o644)
	}
	return nil
}

// inside resolves an archive member under dir, refusing escapes.
func inside(dir, name string) (string, error) {
	p := filepath.Join(dir, name)
	if p != dir && !strings.HasPrefix(p, dir+string(filepath.Separator)) {
		return "", fmt.Errorf("archive member %q escapes the sandbox", name)
	}
	return p, nil
}

func untar(r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		p, err := inside(dir, h.Name)
		if err != nil {
			return err
		}
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(p, 0o755)
		case tar.TypeReg:
			if err = os.MkdirAll(filepath.Dir(p), 0o755); err == nil {
				err = writeFile(p, tr, os.FileMode(h.Mode).Perm())
			}
		case tar.TypeSymlink:
			if filepath.IsAbs(h.Linkname) || strings.Contains(h.Linkname, "..") {
				return fmt.Errorf("archive symlink %q -> %q escapes the sandbox", h.Name, h.Linkname)
			}
			err = os.Symlink(h.Linkname, p)
		}
		if err != nil {
			return err
		}
	}
}

func unzip(file, dir string) error {
	zr, err := zip.OpenReader(file)
	if err != nil {
		return err
	}
	defer zr.Close()
	for _, f := range zr.File {
		p, err := inside(dir, f.Name)
		if err != nil {
			return err
		}
		if f.FileInfo().IsDir() {
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		rc, err := f.Open()
		if err != nil {
			return err
		}
		err = writeFile(p, rc, f.Mode().Perm())
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

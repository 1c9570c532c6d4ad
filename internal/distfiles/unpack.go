package distfiles

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Limits bound what an archive may unpack to.
type Limits struct {
	MaxBytes   int64 // total bytes of the files (default 4 GiB)
	MaxEntries int   // entries (default 100,000)
}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = 4 << 30
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = 100_000
	}
	return l
}

// Unpack unpacks the archive at src (its format from name's suffix) into
// dir, which it creates. Entries are regular files and directories only,
// each under dir: an absolute name, a "..", a link or a device is refused
// and nothing outside dir is ever written. A refused archive leaves dir
// removed.
func Unpack(src, name, dir string, l Limits) (err error) {
	l = l.withDefaults()
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	u := &unpacker{dir: dir, l: l}
	lower := strings.ToLower(name)
	switch {
	case strings.HasSuffix(lower, ".zip"), strings.HasSuffix(lower, ".jar"):
		return u.zip(src)
	case strings.HasSuffix(lower, ".tar.gz"), strings.HasSuffix(lower, ".tgz"):
		f, err := os.Open(src)
		if err != nil {
			return err
		}
		defer f.Close()
		gz, err := gzip.NewReader(f)
		if err != nil {
			return fmt.Errorf("%s: not gzip: %w", name, err)
		}
		return u.tar(tar.NewReader(gz), name)
	case strings.HasSuffix(lower, ".tar"):
		f, err := os.Open(src)
		if err != nil {
			return err
		}
		defer f.Close()
		return u.tar(tar.NewReader(f), name)
	}
	return fmt.Errorf("%s: not an archive (%s)", name, strings.Join(ArchiveSuffixes, ", "))
}

type unpacker struct {
	dir     string
	l       Limits
	written int64
	entries int
}

// target is where an entry goes, or an error when it would leave dir.
func (u *unpacker) target(name string) (string, error) {
	u.entries++
	if u.entries > u.l.MaxEntries {
		return "", fmt.Errorf("more than %d entries", u.l.MaxEntries)
	}
	clean := filepath.Clean(filepath.FromSlash(name))
	if name == "" || filepath.IsAbs(clean) || strings.HasPrefix(name, "/") || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) || strings.ContainsRune(name, 0) {
		return "", fmt.Errorf("entry %q would be written outside the directory", name)
	}
	return filepath.Join(u.dir, clean), nil
}

func (u *unpacker) file(dst string, r io.Reader, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	// O_EXCL: an entry never replaces (or writes through) what is there.
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode.Perm()&0o755|0o600)
	if err != nil {
		return err
	}
	n, err := io.Copy(f, io.LimitReader(r, u.l.MaxBytes-u.written+1))
	u.written += n
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && u.written > u.l.MaxBytes {
		err = fmt.Errorf("unpacks to more than %d bytes", u.l.MaxBytes)
	}
	return err
}

func (u *unpacker) tar(tr *tar.Reader, name string) error {
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		dst, err := u.target(h.Name)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := u.file(dst, tr, os.FileMode(h.Mode)); err != nil {
				return fmt.Errorf("%s: %s: %w", name, h.Name, err)
			}
		case tar.TypeXGlobalHeader:
		default:
			return fmt.Errorf("%s: entry %q is a link or special file, which is not unpacked", name, h.Name)
		}
	}
}

func (u *unpacker) zip(src string) error {
	zr, err := zip.OpenReader(src)
	if err != nil {
		return fmt.Errorf("%s: not a zip archive: %w", filepath.Base(src), err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		dst, err := u.target(f.Name)
		if err != nil {
			return err
		}
		mode := f.Mode()
		switch {
		case mode.IsDir():
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return err
			}
		case mode.IsRegular():
			rc, err := f.Open()
			if err != nil {
				return fmt.Errorf("%s: %w", f.Name, err)
			}
			err = u.file(dst, rc, mode)
			rc.Close()
			if err != nil {
				return fmt.Errorf("%s: %w", f.Name, err)
			}
		default:
			return fmt.Errorf("entry %q is a link or special file, which is not unpacked", f.Name)
		}
	}
	return nil
}

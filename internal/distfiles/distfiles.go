// Package distfiles reads stoke.files and stoke.archives (stoke submit
// --files, --archives: path[#name] lists) and unpacks archives safely. Every
// cluster manager ships them its own way (YARN's local resources, the
// standalone worker's download, the Mesos fetcher), so each executor finds
// them under their names in its working directory.
package distfiles

import (
	"fmt"
	"net/url"
	"path"
	"path/filepath"
	"strings"
)

// Entry is one file or archive to ship.
type Entry struct {
	Src     string // a local path, or a remote URI as given (without #name)
	Alias   string // its name in the working directory
	Archive bool   // unpacked into a directory named Alias
	Remote  bool   // Src is a URI of a remote file system (hdfs://)
}

// ArchiveSuffixes are the archive formats unpacked.
var ArchiveSuffixes = []string{".zip", ".tar.gz", ".tgz", ".tar", ".jar"}

// Options say what a cluster manager can ship.
type Options struct {
	// Schemes are the remote URI schemes it fetches (YARN: hdfs); local
	// paths are always taken.
	Schemes []string
	// Reserved are names its own files take in the working directory.
	Reserved map[string]bool
	// Stat checks a local path exists (os.Stat in use; a fake in tests).
	Stat func(string) error
	// Where names the destination in errors ("every YARN container").
	Where string
}

// Parse reads a comma-separated list of path[#name] (stoke.files, or
// stoke.archives when archive) and checks every entry: the name must be a
// plain file name, unique among the lists (seen maps names to entries
// across calls) and not reserved; archives must have a suffix that is
// unpacked; a local path must exist; a URI must have a scheme the cluster
// manager fetches.
func Parse(list string, archive bool, seen map[string]string, o Options) ([]Entry, error) {
	key := "stoke.files"
	if archive {
		key = "stoke.archives"
	}
	var out []Entry
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		src, alias, hasAlias := strings.Cut(item, "#")
		e := Entry{Src: src, Archive: archive}
		if u, err := url.Parse(src); err == nil && u.Scheme != "" && u.Scheme != "file" {
			ok := false
			for _, s := range o.Schemes {
				ok = ok || u.Scheme == s
			}
			if !ok {
				what := "local paths"
				for _, s := range o.Schemes {
					what += " and " + s + ":// URIs"
				}
				return nil, fmt.Errorf("%s: %q: only %s can be shipped to %s", key, item, what, o.Where)
			}
			e.Remote = true
			e.Alias = path.Base(u.Path)
		} else {
			src = strings.TrimPrefix(src, "file://")
			e.Src = src
			e.Alias = filepath.Base(src)
			if err := o.Stat(src); err != nil {
				return nil, fmt.Errorf("%s: %q: %w", key, item, err)
			}
		}
		if hasAlias {
			e.Alias = alias
		}
		if !PlainName(e.Alias) {
			return nil, fmt.Errorf("%s: %q: the name in %s must be a plain file name", key, item, o.Where)
		}
		if o.Reserved[e.Alias] {
			return nil, fmt.Errorf("%s: %q: the name %q is Stoke's own in %s; give another with #alias", key, item, e.Alias, o.Where)
		}
		if prev, dup := seen[e.Alias]; dup {
			return nil, fmt.Errorf("%s: %q and %q would both be %q in %s; give one another name with #alias", key, prev, item, e.Alias, o.Where)
		}
		if archive && !IsArchive(e.Src) {
			return nil, fmt.Errorf("%s: %q: an archive must end in one of %s (those are unpacked)", key, item, strings.Join(ArchiveSuffixes, ", "))
		}
		seen[e.Alias] = item
		out = append(out, e)
	}
	return out, nil
}

// PlainName says whether name can be a file in a working directory: not
// empty, "." or "..", without separators or NUL, at most 255 bytes.
func PlainName(name string) bool {
	return name != "" && name != "." && name != ".." && len(name) <= 255 && !strings.ContainsAny(name, "/\\\x00")
}

// IsArchive says whether name ends in an archive suffix that is unpacked.
func IsArchive(name string) bool {
	for _, s := range ArchiveSuffixes {
		if strings.HasSuffix(strings.ToLower(name), s) {
			return true
		}
	}
	return false
}

package yarn

import (
	"fmt"
	"net/url"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/stoke-run/stoke/internal/conf"
)

// distFile is one of --files or --archives: a local path or an hdfs:// URI
// of the cluster's file system, localized into every container (the AM and
// a cluster-mode driver's, and each executor's) under alias in the
// container's working directory; an archive is unpacked there.
type distFile struct {
	src     string // as given, without the #alias
	alias   string
	archive bool
	hdfs    bool
}

// archiveSuffixes are what a NodeManager unpacks.
var archiveSuffixes = []string{".zip", ".tar.gz", ".tgz", ".tar", ".jar"}

// reserved are the names Stoke's own resources take in a container.
var reserved = map[string]bool{appBinaryName: true, confDirName: true, keytabName: true, krb5ConfName: true}

// parseDistFiles reads a comma-separated list of path[#alias] (stoke.files
// or stoke.archives) and checks every entry: the alias must be a plain
// file name, unique among the lists and not one Stoke uses; archives must
// have a suffix the NodeManager unpacks; a local path must exist.
func parseDistFiles(list string, archive bool, seen map[string]string, stat func(string) error) ([]distFile, error) {
	key := "stoke.files"
	if archive {
		key = "stoke.archives"
	}
	var out []distFile
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		src, alias, hasAlias := strings.Cut(item, "#")
		d := distFile{src: src, archive: archive}
		if u, err := url.Parse(src); err == nil && u.Scheme != "" && u.Scheme != "file" {
			if u.Scheme != "hdfs" {
				return nil, fmt.Errorf("%s: %q: only local paths and hdfs:// URIs can be shipped to the containers", key, item)
			}
			d.hdfs = true
			d.alias = path.Base(u.Path)
		} else {
			src = strings.TrimPrefix(src, "file://")
			d.src = src
			d.alias = filepath.Base(src)
			if err := stat(src); err != nil {
				return nil, fmt.Errorf("%s: %q: %w", key, item, err)
			}
		}
		if hasAlias {
			d.alias = alias
		}
		if d.alias == "" || d.alias == "." || d.alias == ".." || strings.ContainsAny(d.alias, "/\\\x00") {
			return nil, fmt.Errorf("%s: %q: the name in the containers must be a plain file name", key, item)
		}
		if reserved[d.alias] {
			return nil, fmt.Errorf("%s: %q: the name %q is Stoke's own in the containers; give another with #alias", key, item, d.alias)
		}
		if prev, dup := seen[d.alias]; dup {
			return nil, fmt.Errorf("%s: %q and %q would both be %q in the containers; give one another name with #alias", key, prev, item, d.alias)
		}
		if archive {
			ok := false
			for _, s := range archiveSuffixes {
				ok = ok || strings.HasSuffix(strings.ToLower(d.src), s)
			}
			if !ok {
				return nil, fmt.Errorf("%s: %q: an archive must end in one of %s (the NodeManager unpacks those)", key, item, strings.Join(archiveSuffixes, ", "))
			}
		}
		seen[d.alias] = item
		out = append(out, d)
	}
	return out, nil
}

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// userEnv reads the variables set with prefix (stoke.executorEnv.NAME,
// stoke.yarn.appMasterEnv.NAME). Names must be environment variable names
// and not Stoke's or Hadoop's own; values may not hold quotes, backslashes
// or line breaks, which the NodeManager's launch script does not escape.
func userEnv(c *conf.Conf, prefix string) (map[string]string, error) {
	out := map[string]string{}
	for name, v := range c.WithPrefix(prefix) {
		switch {
		case !envNameRE.MatchString(name):
			return nil, fmt.Errorf("%s%s: %q is not an environment variable name", prefix, name, name)
		case strings.HasPrefix(name, "STOKE_") || strings.HasPrefix(name, "HADOOP_") || strings.HasPrefix(name, "YARN_") ||
			name == "KRB5_CONFIG" || name == "KRB5CCNAME" || name == "CONTAINER_ID":
			return nil, fmt.Errorf("%s%s: %s is set by Stoke or YARN in the container and cannot be overridden", prefix, name, name)
		case strings.ContainsAny(v, "\"'\\\n\r\x00"):
			return nil, fmt.Errorf("%s%s: the value may not hold quotes, backslashes or line breaks (YARN's launch script does not escape them)", prefix, name)
		}
		out[name] = v
	}
	return out, nil
}

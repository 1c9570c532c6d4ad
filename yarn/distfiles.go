package yarn

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/internal/distfiles"
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

// reserved are the names Stoke's own resources take in a container.
var reserved = map[string]bool{appBinaryName: true, confDirName: true, keytabName: true, krb5ConfName: true}

// parseDistFiles reads a comma-separated list of path[#alias] (stoke.files
// or stoke.archives) and checks every entry (distfiles.Parse): local paths
// and hdfs:// URIs of the cluster's file system; the NodeManager unpacks
// archives.
func parseDistFiles(list string, archive bool, seen map[string]string, stat func(string) error) ([]distFile, error) {
	es, err := distfiles.Parse(list, archive, seen, distfiles.Options{Schemes: []string{"hdfs"}, Reserved: reserved, Stat: stat, Where: "the containers"})
	if err != nil {
		return nil, err
	}
	out := make([]distFile, len(es))
	for i, e := range es {
		out[i] = distFile{src: e.Src, alias: e.Alias, archive: e.Archive, hdfs: e.Remote}
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

package mesos

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/internal/distfiles"
)

// How stoke.files and stoke.archives (--files, --archives) reach the
// processes Mesos starts.
//
// Every entry becomes a CommandInfo.URI of the executor (and, in cluster
// mode, of the driver task the dispatcher launches), fetched by the agent's
// fetcher into the sandbox, the process's working directory, with
// output_file = its name (#alias). http://, https:// and hdfs:// URIs are
// given to the fetcher untouched (a real agent fetches hdfs:// through its
// Hadoop client); a local path is served by the driver's grant server
// (fileserver.go) behind a one-time URL per executor, as the binary is.
//
// Archives are fetched with extract = false and unpacked by the process
// itself (distfiles.Unpack) into a directory named by the alias before it
// runs anything: Mesos's fetcher extracts an archive into the sandbox root,
// not into a directory of the output_file's name, and would follow links an
// archive holds; the process's own unpacker keeps every entry under the
// alias and works the same on every agent. EnvArchives tells the process
// which fetched files are archives.

// EnvArchives names the variable listing the fetched archives a process
// started by Mesos unpacks: a JSON object of alias → the archive's original
// file name (its suffix gives the format).
const EnvArchives = "STOKE_MESOS_ARCHIVES"

// distSchemes are the URI schemes handed to the Mesos fetcher as given.
var distSchemes = []string{"http", "https", "hdfs"}

// sandboxReserved are the names Mesos and Stoke take in a sandbox besides
// the binary's.
var sandboxReserved = []string{"stdout", "stderr"}

// errClusterLocal refuses a local path in a cluster-mode submission.
var errClusterLocal = errors.New("a local path: in Mesos cluster mode the driver runs on an agent, where the submitter's files are not; give an http://, https:// or hdfs:// URI")

// statFile accepts a regular file (or a link to one): the grant server
// serves files, not directories.
func statFile(p string) error {
	st, err := os.Stat(p)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file: only files can be shipped to Mesos sandboxes (pack a directory into an archive)", p)
	}
	return nil
}

// parseDist reads stoke.files and stoke.archives; binary is the name the
// process's binary takes in the sandbox; remoteOnly refuses local paths (a
// driver in cluster mode runs on an agent, where the submitter's paths
// are not).
func parseDist(c *conf.Conf, binary string, remoteOnly bool) ([]distfiles.Entry, error) {
	reserved := map[string]bool{binary: true}
	for _, n := range sandboxReserved {
		reserved[n] = true
	}
	o := distfiles.Options{Schemes: distSchemes, Reserved: reserved, Stat: statFile, Where: "the Mesos sandboxes"}
	if remoteOnly {
		// Never look at the dispatcher's own disk: whether a path exists
		// there is none of the submitter's business.
		o.Stat = func(string) error { return errClusterLocal }
	}
	seen := map[string]string{}
	var out []distfiles.Entry
	for _, archive := range []bool{false, true} {
		key := "stoke.files"
		if archive {
			key = "stoke.archives"
		}
		es, err := distfiles.Parse(c.String(key), archive, seen, o)
		if err != nil {
			return nil, err
		}
		for i, e := range es {
			if remoteOnly && !e.Remote {
				return nil, fmt.Errorf("%s: %q: %w", key, e.Src, errClusterLocal)
			}
			if !e.Remote {
				// Served later, whatever the application's working
				// directory is by then.
				abs, err := filepath.Abs(e.Src)
				if err != nil {
					return nil, fmt.Errorf("%s: %q: %w", key, e.Src, err)
				}
				es[i].Src = abs
			}
		}
		out = append(out, es...)
	}
	return out, nil
}

// distURIs are the CommandInfo URIs of es for owner (local files get
// one-time URLs from fs), and the value of EnvArchives ("" without
// archives).
func distURIs(es []distfiles.Entry, owner string, fs *fileServer) ([]mesos.CommandInfo_URI, string) {
	var uris []mesos.CommandInfo_URI
	archives := map[string]string{}
	for _, e := range es {
		no := false
		alias := e.Alias
		v := e.Src
		if !e.Remote {
			v = fs.fileURL(owner, e.Src)
		}
		uris = append(uris, mesos.CommandInfo_URI{Value: v, Extract: &no, Executable: &no, OutputFile: &alias})
		if e.Archive {
			archives[e.Alias] = filepath.Base(e.Src)
		}
	}
	if len(archives) == 0 {
		return uris, ""
	}
	js, _ := json.Marshal(archives) // strings only
	return uris, string(js)
}

// UnpackArchives unpacks the archives named by EnvArchives, fetched into
// the working directory under their aliases, into directories of the same
// names, then unsets EnvArchives. A process Mesos started calls it before
// it runs anything.
func UnpackArchives() error {
	v := os.Getenv(EnvArchives)
	if v == "" {
		return nil
	}
	os.Unsetenv(EnvArchives)
	var archives map[string]string
	if err := json.Unmarshal([]byte(v), &archives); err != nil {
		return fmt.Errorf("%s: malformed: %v", EnvArchives, err)
	}
	aliases := make([]string, 0, len(archives))
	for a := range archives {
		aliases = append(aliases, a)
	}
	sort.Strings(aliases)
	var errs []error
	for _, alias := range aliases {
		if err := unpackFetched(alias, archives[alias]); err != nil {
			errs = append(errs, fmt.Errorf("stoke.archives: unpacking %s (%s): %w", alias, archives[alias], err))
		}
	}
	return errors.Join(errs...)
}

// unpackFetched moves the fetched archive alias aside and unpacks it into
// the directory alias.
func unpackFetched(alias, name string) error {
	if !distfiles.PlainName(alias) || !distfiles.PlainName(name) || !distfiles.IsArchive(name) {
		return fmt.Errorf("%s: not an archive name a driver gives", EnvArchives)
	}
	tmp, err := os.MkdirTemp(".", ".stoke-unpack-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	src := filepath.Join(tmp, name)
	if err := os.Rename(alias, src); err != nil {
		return err
	}
	return distfiles.Unpack(src, name, alias, distfiles.Limits{})
}

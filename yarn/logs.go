package yarn

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/colinmarc/hdfs/v2"
	"google.golang.org/protobuf/proto"

	"github.com/stoke-run/stoke/internal/hadoop/aggrlog"
	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/yarnpb"
)

// LogsRequest selects the aggregated logs Logs prints.
type LogsRequest struct {
	AppID     string
	Container string   // only this container ("": all)
	Node      string   // only this NodeManager, host:port, host_port or host ("": all)
	LogFiles  []string // only these log files, e.g. stderr (none: all)
	// SizeLimit > 0 prints the first SizeLimit bytes of each log, < 0 the
	// last -SizeLimit bytes, 0 all of it.
	SizeLimit int64
	// Owner is the application's user when the ResourceManager no longer
	// knows the application ("": the report's user, else this client's).
	Owner string
}

// errWrite wraps failures to write the output.
var errWrite = errors.New("writing the logs")

type outWriter struct{ w io.Writer }

func (o outWriter) Write(p []byte) (int, error) {
	n, err := o.w.Write(p)
	if err != nil {
		err = fmt.Errorf("%w: %w", errWrite, err)
	}
	return n, err
}

// ErrLogsNotReady says the application's logs are not (all) aggregated yet.
var ErrLogsNotReady = errors.New("logs not aggregated yet")

// logController is one of yarn.log-aggregation.file-formats.
type logController struct{ name, root, suffix string }

// logControllers are the configured log aggregation controllers, then the
// two Hadoop ships with, where a cluster that switched formats left older
// applications' logs.
func (c *Client) logControllers() ([]logController, error) {
	names, err := c.Conf.Strings("yarn.log-aggregation.file-formats")
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		names = []string{"TFile"}
	}
	names = append(names, "TFile", "IndexedFormat")
	seen := map[string]bool{}
	var out []logController
	for _, n := range names {
		if seen[n] {
			continue
		}
		seen[n] = true
		root := c.Conf.Get("yarn.log-aggregation." + n + ".remote-app-log-dir")
		if root == "" {
			root = c.Conf.Get("yarn.nodemanager.remote-app-log-dir")
		}
		if root == "" {
			root = "/tmp/logs"
		}
		if u, err := url.Parse(root); err == nil && u.Scheme != "" {
			if u.Scheme != "hdfs" {
				return nil, fmt.Errorf("the remote log directory %s (yarn.nodemanager.remote-app-log-dir) is not on HDFS; stoke logs reads HDFS only", root)
			}
			root = u.Path
		}
		suffix := c.Conf.Get("yarn.log-aggregation." + n + ".remote-app-log-dir-suffix")
		if suffix == "" {
			suffix = c.nmLogSuffix() + "-" + strings.ToLower(n)
		}
		out = append(out, logController{n, root, suffix})
	}
	return out, nil
}

func (c *Client) nmLogSuffix() string {
	if s := c.Conf.Get("yarn.nodemanager.remote-app-log-dir-suffix"); s != "" {
		return s
	}
	return "logs"
}

// AppLogDirs are the directories an application's aggregated logs may be
// in, newest layout first: {root}/{user}/bucket-{suffix}/{id mod 10000,
// 4 digits}/{app} (Hadoop 3.3 and later), {root}/{user}/{suffix}/{app}, and
// {root}/{user}/{yarn.nodemanager.remote-app-log-dir-suffix}/{app} (before
// per-controller suffixes).
func (c *Client) AppLogDirs(appID, user string) ([]string, error) {
	id, err := ParseAppID(appID)
	if err != nil {
		return nil, err
	}
	appID = AppIDString(id)
	if user == "" || strings.ContainsAny(user, "/\x00") || user == "." || user == ".." {
		return nil, fmt.Errorf("%q is not a user name", user)
	}
	ctrls, err := c.logControllers()
	if err != nil {
		return nil, err
	}
	var dirs []string
	seen := map[string]bool{}
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			dirs = append(dirs, p)
		}
	}
	for _, k := range ctrls {
		add(path.Join(k.root, user, "bucket-"+k.suffix, fmt.Sprintf("%04d", id.GetId()%10000), appID))
	}
	for _, k := range ctrls {
		add(path.Join(k.root, user, k.suffix, appID))
	}
	for _, k := range ctrls {
		add(path.Join(k.root, user, c.nmLogSuffix(), appID))
	}
	return dirs, nil
}

// nodeFile is one NodeManager's aggregated file of an application.
type nodeFile struct {
	path string
	size int64
	mod  time.Time
}

// Logs prints an ended application's aggregated container logs, as `yarn
// logs -applicationId` does, from the remote log directory on HDFS.
func (c *Client) Logs(ctx context.Context, req LogsRequest, out io.Writer) error {
	id, err := ParseAppID(req.AppID)
	if err != nil {
		return err
	}
	// As YARN writes it (application_<ts>_0007 for application_<ts>_7).
	req.AppID = AppIDString(id)
	if req.Container != "" {
		cid, err := ParseContainerID(req.Container)
		if err != nil {
			return err
		}
		if app := cid.GetAppAttemptId().GetApplicationId(); AppIDString(app) != req.AppID {
			return fmt.Errorf("container %s is not one of %s's", req.Container, req.AppID)
		}
	}
	owner := req.Owner
	r, rerr := c.Report(ctx, req.AppID)
	if rerr == nil && owner == "" {
		owner = r.GetUser()
	}
	if owner == "" {
		owner = c.user
	}
	if rerr == nil && r.GetLogAggregationStatus() == yarnpb.LogAggregationStatus_LOG_DISABLED {
		return fmt.Errorf("%s: the cluster does not aggregate logs (yarn.log-aggregation-enable is false): they stay on the NodeManagers", req.AppID)
	}
	fs, _, err := c.hdfs()
	if err != nil {
		return err
	}
	dirs, err := c.AppLogDirs(req.AppID, owner)
	if err != nil {
		return err
	}
	files, inProgress, checksums, err := listNodeFiles(fs, dirs, req.Node)
	if err != nil {
		return fmt.Errorf("%s: %w", req.AppID, err)
	}
	if len(files) == 0 {
		switch {
		case rerr != nil:
			return fmt.Errorf("%w; and no aggregated logs of it (owner %s) in %s", rerr, owner, strings.Join(dirs, ", "))
		case !Terminal(r.GetYarnApplicationState()):
			return fmt.Errorf("%w: %s is %v; its logs are aggregated when it ends", ErrLogsNotReady, req.AppID, r.GetYarnApplicationState())
		case inProgress > 0 || r.GetLogAggregationStatus() == yarnpb.LogAggregationStatus_LOG_NOT_START || r.GetLogAggregationStatus() == yarnpb.LogAggregationStatus_LOG_RUNNING:
			return fmt.Errorf("%w: the NodeManagers are still aggregating the logs of %s (status %v); try again shortly", ErrLogsNotReady, req.AppID, r.GetLogAggregationStatus())
		case req.Node != "":
			return fmt.Errorf("%s: no aggregated logs from a NodeManager %s in %s", req.AppID, req.Node, strings.Join(dirs, ", "))
		}
		return fmt.Errorf("%s: no aggregated logs (owner %s, log aggregation status %v) in %s", req.AppID, owner, r.GetLogAggregationStatus(), strings.Join(dirs, ", "))
	}
	w := bufio.NewWriterSize(outWriter{out}, 64<<10)
	defer w.Flush()
	p := &logPrinter{w: w, req: req}
	var bad []error
	for _, f := range files {
		if end, ok := checksums[f.path]; ok {
			if end == 0 {
				continue
			}
			if end < f.size {
				f.size = end
			}
		}
		// A damaged file does not hide the others' logs.
		if err := p.file(fs, f); err != nil {
			if errors.Is(err, errWrite) {
				return err
			}
			bad = append(bad, err)
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if len(bad) > 0 {
		return fmt.Errorf("%s: %d of the %d aggregated log files could not be read: %w", req.AppID, len(bad), len(files), errors.Join(bad...))
	}
	if p.printed == 0 {
		switch {
		case req.Container != "":
			return fmt.Errorf("%s: no logs of container %s in the aggregated logs (%d files)", req.AppID, req.Container, len(files))
		case len(req.LogFiles) > 0:
			return fmt.Errorf("%s: no log named %s in the aggregated logs", req.AppID, strings.Join(req.LogFiles, " or "))
		}
	}
	if inProgress > 0 {
		return fmt.Errorf("%w: %d NodeManagers are still uploading logs of %s", ErrLogsNotReady, inProgress, req.AppID)
	}
	if rerr == nil && !Terminal(r.GetYarnApplicationState()) {
		return fmt.Errorf("%w: %s is %v; these are the logs rolling aggregation uploaded so far", ErrLogsNotReady, req.AppID, r.GetYarnApplicationState())
	}
	return nil
}

// listNodeFiles lists the aggregated files in the first of dirs that
// exists, and how many are still being written (.tmp). checksums are the
// IndexedFormat checksum files' lengths by the file they are about.
func listNodeFiles(fs *hdfs.Client, dirs []string, node string) ([]nodeFile, int, map[string]int64, error) {
	nodeStr := strings.ReplaceAll(node, ":", "_")
	var files []nodeFile
	inProgress := 0
	checksums := map[string]int64{}
	for _, dir := range dirs {
		infos, err := fs.ReadDir(dir)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if errors.Is(err, os.ErrPermission) {
			return nil, 0, nil, fmt.Errorf("not permitted to read %s as %s: %w", dir, fsUser(fs), err)
		}
		if err != nil {
			return nil, 0, nil, fmt.Errorf("listing %s: %w", dir, err)
		}
		for _, fi := range infos {
			name := fi.Name()
			switch {
			case fi.IsDir():
				continue
			case nodeStr != "" && strings.TrimSuffix(name, ".tmp") != nodeStr && !strings.HasPrefix(name, nodeStr+"_") && !strings.HasPrefix(name, nodeStr+"-"):
				// host_port, host_port_<time> (rolling), host_port.tmp, host_port-checksum
				continue
			case strings.HasSuffix(name, ".tmp"):
				inProgress++
			case strings.HasSuffix(name, aggrlog.ChecksumSuffix):
				if fi.Size() > 1<<16 {
					return nil, 0, nil, fmt.Errorf("%s: a checksum file of %d bytes", path.Join(dir, name), fi.Size())
				}
				b, err := fs.ReadFile(path.Join(dir, name))
				if err != nil {
					return nil, 0, nil, fmt.Errorf("reading %s: %w", path.Join(dir, name), err)
				}
				of, end, err := aggrlog.ParseChecksum(b)
				if err != nil {
					return nil, 0, nil, fmt.Errorf("%s: %w", path.Join(dir, name), err)
				}
				checksums[path.Join(dir, of)] = end
			default:
				files = append(files, nodeFile{path: path.Join(dir, name), size: fi.Size(), mod: fi.ModTime()})
			}
		}
		if len(files) > 0 || inProgress > 0 {
			break
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].path < files[j].path })
	return files, inProgress, checksums, nil
}

func fsUser(fs *hdfs.Client) string {
	if u := fs.User(); u != "" {
		return u
	}
	return "this user"
}

type logPrinter struct {
	w       *bufio.Writer
	req     LogsRequest
	printed int
	last    string // container and node of the last header
}

func (p *logPrinter) want(container string) bool {
	return p.req.Container == "" || container == p.req.Container
}

func (p *logPrinter) wantFile(name string) bool {
	if len(p.req.LogFiles) == 0 {
		return true
	}
	for _, f := range p.req.LogFiles {
		if f == name {
			return true
		}
	}
	return false
}

// file prints the logs of one NodeManager's file.
func (p *logPrinter) file(fs *hdfs.Client, f nodeFile) error {
	rd, err := fs.Open(f.path)
	if errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("not permitted to read %s as %s: %w", f.path, fsUser(fs), err)
	}
	if err != nil {
		return fmt.Errorf("opening %s: %w", f.path, err)
	}
	defer rd.Close()
	node := path.Base(f.path)
	format, err := aggrlog.Detect(rd, f.size, p.req.AppID)
	if err != nil {
		return fmt.Errorf("%s: %w", f.path, err)
	}
	visit := func(l aggrlog.Log, content io.Reader) error {
		if !p.wantFile(l.Name) {
			return nil
		}
		return p.log(node, f.mod, l, content)
	}
	switch format {
	case aggrlog.TFile:
		err = aggrlog.ReadTFile(rd, f.size, p.want, visit)
	default:
		err = aggrlog.ReadIFile(rd, f.size, p.req.AppID, p.want, visit)
	}
	if err != nil {
		return fmt.Errorf("%s (%s): %w", f.path, format, err)
	}
	return nil
}

const logRule = "=============================================================================="

func (p *logPrinter) log(node string, fileMod time.Time, l aggrlog.Log, content io.Reader) error {
	w := p.w
	if h := l.Container + " " + node; h != p.last {
		p.last = h
		fmt.Fprintf(w, "Container: %s on %s\nLogAggregationType: AGGREGATED\n%s\n", l.Container, node, logRule)
	}
	mod := l.ModTime
	if mod.IsZero() {
		mod = fileMod
	}
	fmt.Fprintf(w, "LogType:%s\nLogLastModifiedTime:%s\nLogLength:%d\n", l.Name, mod.UTC().Format(time.UnixDate), l.Length)
	n := l.Length
	switch lim := p.req.SizeLimit; {
	case lim > 0 && lim < n:
		n = lim
		fmt.Fprintf(w, "LogContents (the first %d bytes):\n", n)
	case lim < 0 && -lim < n:
		if _, err := io.CopyN(io.Discard, content, n+lim); err != nil {
			return err
		}
		n = -lim
		fmt.Fprintf(w, "LogContents (the last %d bytes):\n", n)
	default:
		fmt.Fprintf(w, "LogContents:\n")
	}
	if _, err := io.CopyN(w, content, n); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nEnd of LogType:%s\n%s\n\n", l.Name, strings.Repeat("*", len(logRule)))
	p.printed++
	return nil
}

// logAggregationContext is the LogAggregationContext of the rolled-log
// patterns (stoke.yarn.rolledLog.*, Spark's spark.yarn.rolledLog.*), nil
// when neither is set. An exclude pattern alone excludes from everything.
func logAggregationContext(include, exclude string) *yarnpb.LogAggregationContext {
	if include == "" && exclude == "" {
		return nil
	}
	if include == "" {
		include = ".*"
	}
	lc := &yarnpb.LogAggregationContext{RolledLogsIncludePattern: proto.String(include)}
	if exclude != "" {
		lc.RolledLogsExcludePattern = proto.String(exclude)
	}
	return lc
}

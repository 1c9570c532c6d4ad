package yarn

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/colinmarc/hdfs/v2"
	"github.com/colinmarc/hdfs/v2/hadoopconf"
	"github.com/sirupsen/logrus"
	"google.golang.org/protobuf/proto"

	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/internal/fsx"
	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/commonpb"
	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/hdfspb"
	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/yarnpb"
	"github.com/stoke-run/stoke/internal/hadoop/hconf"
	"github.com/stoke-run/stoke/internal/hadoop/ipc"
	"github.com/stoke-run/stoke/internal/hadoop/krb"
	"github.com/stoke-run/stoke/internal/hadoop/tokenfile"
)

// Names inside containers and the environment the AM reads.
const (
	appBinaryName = "stoke-app"      // the application binary's link name in containers
	keytabName    = "stoke.keytab"   // a keytab login's keytab, in containers
	krb5ConfName  = "krb5.conf"      // the client's krb5.conf, in containers
	confDirName   = "__stoke_conf__" // the staged Hadoop configuration, unpacked
	stagingName   = ".stokeStaging"

	EnvAM           = "STOKE_YARN_AM"             // "client" or "cluster": this container is the AM
	EnvStaging      = "STOKE_YARN_STAGING"        // hdfs:// URI of the staging directory
	EnvResources    = "STOKE_YARN_RESOURCES"      // the LocalResources, for executor containers
	EnvArgs         = "STOKE_YARN_ARGS"           // cluster mode: the driver's arguments (JSON, base64)
	EnvConf         = "STOKE_YARN_CONF"           // the application's settings (STOKE_SUBMIT_CONF, base64)
	EnvAMAddress    = "STOKE_YARN_AM_ADDRESS"     // cluster mode: the AM endpoint the driver uses
	EnvAMSecret     = "STOKE_YARN_AM_SECRET"      // cluster mode: its secret
	EnvAppID        = "STOKE_YARN_APP_ID"         // cluster mode: the application id
	amSecretAlias   = "stoke.yarn.amSecret"       // credentials secret holding the AM endpoint secret
	confSecretAlias = "stoke.yarn.secretConf"     // credentials secret holding the secret settings (STOKE_SUBMIT_CONF)
	execSecretAlias = "stoke.yarn.executorSecret" // credentials secret holding the driver's secret, for executors
	amRMTokenKind   = "YARN_AM_RM_TOKEN"          //
	applicationTyp  = "STOKE"                     // applicationType in reports
	hadoopTokenEnv  = "HADOOP_TOKEN_FILE_LOCATION"
)

// Submission describes one application to submit.
type Submission struct {
	Name        string
	Queue       string
	Tags        []string
	Priority    int
	MaxAttempts int
	AMMemoryMiB int64
	AMCores     int
	// ExecutorMemoryMiB (overhead included) and ExecutorCores size an executor's
	// container: checked against the cluster's largest before anything is submitted.
	ExecutorMemoryMiB int64
	ExecutorCores     int
	Mode              string            // "client" or "cluster"
	Binary            string            // local path of the application binary
	Args              []string          // cluster mode: the driver's arguments
	Env               map[string]string // for the AM; only STOKE_SUBMIT_CONF is passed
	AMSecret          string
	StagingBase       string // "" means /user/<user>
	// Files and Archives are localized into every container (stoke.files,
	// stoke.archives).
	Files []distFile
	// AMEnv is the user's environment for the AM (stoke.yarn.appMasterEnv.*).
	AMEnv map[string]string
	// AttemptValidity: AM failures older than this do not count (0: all do).
	AttemptValidity time.Duration
	// AMNodeLabel is the node label the AM's node must have ("" none).
	AMNodeLabel string
	// OtherFileSystems are HDFS namespaces besides fs.defaultFS whose delegation tokens
	// the containers get (stoke.kerberos.access.hadoopFileSystems).
	OtherFileSystems []*url.URL
	// LogAggregation selects the logs rolling aggregation uploads (nil: the
	// NodeManagers' defaults).
	LogAggregation *yarnpb.LogAggregationContext
	// Timings, filled in by Submit for the benchmark's breakdown.
	Staged, Submitted time.Time
}

// Client is a YARN client: the ResourceManager's ApplicationClientProtocol and the HDFS the
// application is staged on.
type Client struct {
	Conf     *hconf.Config
	confDirs []string
	rm       *ipc.Client
	user     string
	log      logrus.FieldLogger
	fs       *hdfs.Client
	fsURL    *url.URL
	login    *krb.Login // Kerberos clusters
	// proxyUser, when set, is the user every RM and HDFS connection acts for (Hadoop
	// impersonation, --proxy-user): the login is the real user.
	proxyUser string
	// keytabShipped: the keytab and krb5.conf are staged for the containers.
	keytabShipped bool
}

// ErrNoHadoopConf says the cluster cannot be found.
var ErrNoHadoopConf = errors.New("master yarn: set HADOOP_CONF_DIR (or YARN_CONF_DIR) to the directory holding the cluster's core-site.xml and yarn-site.xml")

// NewClient reads the Hadoop configuration from HADOOP_CONF_DIR / YARN_CONF_DIR and prepares
// connections to the ResourceManager (with every RM of an HA pair) and HDFS. It dials nothing.
func NewClient(log logrus.FieldLogger) (*Client, error) { return NewClientAs(log, "") }

// NewClientAs is NewClient acting for proxyUser ("" for none): on a Kerberos cluster every
// connection authenticates as the login and names proxyUser as its effective user, so the
// application, its staging directory and its delegation tokens are proxyUser's; the cluster
// allows it or not by its hadoop.proxyuser.<login's short name>.* rules.
func NewClientAs(log logrus.FieldLogger, proxyUser string) (*Client, error) {
	var dirs []string
	for _, k := range []string{"HADOOP_CONF_DIR", "YARN_CONF_DIR"} {
		if v := strings.TrimSpace(os.Getenv(k)); v != "" {
			dirs = append(dirs, v)
		}
	}
	if len(dirs) == 0 {
		return nil, ErrNoHadoopConf
	}
	for _, d := range dirs {
		if st, err := os.Stat(d); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("master yarn: the Hadoop configuration directory %s is not a readable directory", d)
		}
	}
	hc, err := hconf.LoadDir(nil, dirs...)
	if err != nil {
		return nil, fmt.Errorf("master yarn: %w", err)
	}
	c := &Client{Conf: hc, confDirs: dirs, user: hadoopUser()}
	var auth []ipc.Authenticator
	if strings.EqualFold(hc.Get("hadoop.security.authentication"), "kerberos") {
		// A failed login stops here: nothing is created or staged.
		if c.login, err = fsx.KerberosLogin(); err != nil {
			return nil, fmt.Errorf("master yarn: the cluster uses Kerberos: %w", err)
		}
		c.user = c.login.ShortName()
		if proxyUser != "" {
			c.user, c.proxyUser = proxyUser, proxyUser
		}
		auth = append(auth, &krb.GSSAPIAuth{Login: c.login, ServerPrincipal: hc.Get("yarn.resourcemanager.principal"), ProxyUser: proxyUser})
	} else if proxyUser != "" {
		return nil, fmt.Errorf("master yarn: --proxy-user %s (stoke.yarn.proxyUser) needs a Kerberos cluster: this one does not authenticate users (hadoop.security.authentication is not kerberos) and takes the user a client names, so set HADOOP_USER_NAME=%s instead", proxyUser, proxyUser)
	}
	if c.rm, err = ipc.NewRMClient(hc, hconf.RMClient, ipc.ApplicationClientProtocol, auth...); err != nil {
		return nil, fmt.Errorf("master yarn: %w", err)
	}
	if log == nil {
		log = logrus.StandardLogger()
	}
	c.log = log.WithField("backend", "yarn")
	return c, nil
}

// Close releases the connections.
func (c *Client) Close() error {
	if c.fs != nil {
		c.fs.Close()
	}
	return c.rm.Close()
}

func hadoopUser() string { return fsx.HadoopUser() }

// hdfs connects to fs.defaultFS.
func (c *Client) hdfs() (*hdfs.Client, *url.URL, error) {
	if c.fs != nil {
		return c.fs, c.fsURL, nil
	}
	def := c.Conf.Get("fs.defaultFS")
	u, err := url.Parse(def)
	if err != nil || u.Scheme != "hdfs" || u.Host == "" {
		return nil, nil, fmt.Errorf("staging needs HDFS: fs.defaultFS is %q, not hdfs://host[:port]", def)
	}
	hc, err := hadoopconf.Load(c.confDirs[0])
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", c.confDirs[0], err)
	}
	fs, _, err := fsx.NewHDFSClientAs(hc, "", c.proxyUser)
	if err != nil {
		return nil, nil, err
	}
	c.fs, c.fsURL = fs, u
	return fs, u, nil
}

// StagingDir is where an application's files go.
func (c *Client) StagingDir(base, appID string) string {
	if base == "" {
		base = "/user/" + c.user
	}
	return path.Join(base, stagingName, appID)
}

// Submit creates the application, stages the binary and the Hadoop configuration on HDFS,
// and submits the AM. It returns the application id. On any error nothing stays staged.
func (c *Client) Submit(ctx context.Context, s *Submission) (string, error) {
	var na yarnpb.GetNewApplicationResponse
	if err := c.rm.Call(ctx, "getNewApplication", &yarnpb.GetNewApplicationRequest{}, &na); err != nil {
		return "", fmt.Errorf("asking the ResourceManager (%s) for a new application: %w", strings.Join(c.rmAddrs(), ", "), c.impersonation(err))
	}
	id := na.GetApplicationId()
	appID := AppIDString(id)
	max := na.GetMaximumCapability()
	if max.GetMemory() > 0 && s.AMMemoryMiB > max.GetMemory() {
		return "", fmt.Errorf("%s: the application master needs %d MiB but the cluster's largest container is %d MiB (yarn.scheduler.maximum-allocation-mb)", appID, s.AMMemoryMiB, max.GetMemory())
	}
	if max.GetVirtualCores() > 0 && int32(s.AMCores) > max.GetVirtualCores() {
		return "", fmt.Errorf("%s: the application master needs %d cores but the cluster's largest container has %d", appID, s.AMCores, max.GetVirtualCores())
	}
	if max.GetMemory() > 0 && s.ExecutorMemoryMiB > max.GetMemory() {
		return "", fmt.Errorf("%s: an executor needs %d MiB (stoke.executor.memory and its overhead, stoke.yarn.executor.memoryOverhead) but the cluster's largest container is %d MiB (yarn.scheduler.maximum-allocation-mb)", appID, s.ExecutorMemoryMiB, max.GetMemory())
	}
	if max.GetVirtualCores() > 0 && int32(s.ExecutorCores) > max.GetVirtualCores() {
		return "", fmt.Errorf("%s: an executor needs %d cores (stoke.executor.cores) but the cluster's largest container has %d (yarn.scheduler.maximum-allocation-vcores)", appID, s.ExecutorCores, max.GetVirtualCores())
	}
	creds := &tokenfile.Credentials{}
	// Tokens of the other file systems first: one that cannot be reached or refuses
	// stops the submission before anything is staged.
	if err := c.otherFSTokens(ctx, s.OtherFileSystems, creds); err != nil {
		return "", fmt.Errorf("%s: %w", appID, err)
	}
	staging := c.StagingDir(s.StagingBase, appID)
	resources, err := c.stage(staging, s.Binary, s.Files)
	if err != nil {
		c.removeStaging(staging)
		return "", fmt.Errorf("%s: staging on HDFS: %w", appID, c.impersonation(err))
	}
	s.Staged = time.Now()
	creds.SetSecret(amSecretAlias, []byte(s.AMSecret))
	if c.login != nil {
		tok, err := c.hdfsDelegationToken(ctx)
		if err != nil {
			c.removeStaging(staging)
			return "", fmt.Errorf("%s: %w", appID, err)
		}
		creds.AddToken(tok.GetService(), tok)
	}
	lr, err := proto.Marshal(&yarnpb.ContainerLaunchContext{LocalResources: resources})
	if err != nil {
		c.removeStaging(staging)
		return "", err
	}
	env := map[string]string{
		"HADOOP_CONF_DIR":  "{{PWD}}/" + confDirName,
		"YARN_CONF_DIR":    "{{PWD}}/" + confDirName,
		EnvAM:              s.Mode,
		EnvStaging:         c.fsURL.Scheme + "://" + c.fsURL.Host + staging,
		EnvResources:       base64.StdEncoding.EncodeToString(lr),
		"HADOOP_USER_NAME": c.user,
	}
	if s.Mode == "cluster" {
		args, _ := json.Marshal(s.Args)
		env[EnvArgs] = base64.StdEncoding.EncodeToString(args)
	}
	for k, v := range s.AMEnv {
		env[k] = v
	}
	// The NodeManager writes the environment into a shell script without escaping quotes,
	// so values that may hold any character travel base64-encoded.
	if v, ok := s.Env[conf.SubmitConfEnv]; ok {
		if env[EnvConf], err = confForAM(v, creds); err != nil {
			c.removeStaging(staging)
			return "", fmt.Errorf("%s: %w", appID, err)
		}
	}
	if c.keytabShipped {
		env[fsx.EnvPrincipal] = c.login.Principal()
		env[fsx.EnvKeytab] = "{{PWD}}/" + keytabName
		env["KRB5_CONFIG"] = "{{PWD}}/" + krb5ConfName
	}
	ctxSpec := &yarnpb.ContainerLaunchContext{
		LocalResources: resources,
		Tokens:         creds.Marshal(),
		Environment:    envList(env),
		Command:        []string{"./" + appBinaryName, "1><LOG_DIR>/stdout", "2><LOG_DIR>/stderr"},
	}
	sub := &yarnpb.ApplicationSubmissionContext{
		ApplicationId:   id,
		ApplicationName: proto.String(s.Name),
		Queue:           proto.String(s.Queue),
		Priority:        &yarnpb.Priority{Priority: proto.Int32(int32(s.Priority))},
		AmContainerSpec: ctxSpec,
		MaxAppAttempts:  proto.Int32(int32(s.MaxAttempts)),
		Resource:        &yarnpb.Resource{Memory: proto.Int64(s.AMMemoryMiB), VirtualCores: proto.Int32(int32(s.AMCores))},
		ApplicationType: proto.String(applicationTyp),
		ApplicationTags: s.Tags,
	}
	if s.LogAggregation != nil {
		sub.LogAggregationContext = s.LogAggregation
	}
	if s.AttemptValidity > 0 {
		sub.AttemptFailuresValidityInterval = proto.Int64(s.AttemptValidity.Milliseconds())
	}
	if s.AMNodeLabel != "" {
		// The AM's own request carries the label (priority 0, YARN's AM
		// container priority); the RM takes it instead of resource.
		sub.AmContainerResourceRequest = []*yarnpb.ResourceRequest{{
			Priority: &yarnpb.Priority{Priority: proto.Int32(0)}, ResourceName: proto.String("*"), Capability: sub.Resource,
			NumContainers: proto.Int32(1), RelaxLocality: proto.Bool(true), NodeLabelExpression: proto.String(s.AMNodeLabel),
		}}
	}
	if err := c.rm.Call(ctx, "submitApplication", &yarnpb.SubmitApplicationRequest{ApplicationSubmissionContext: sub}, &yarnpb.SubmitApplicationResponse{}); err != nil {
		c.removeStaging(staging)
		return "", fmt.Errorf("submitting %s: %w", appID, err)
	}
	s.Submitted = time.Now()
	c.log.WithFields(logrus.Fields{"app": appID, "queue": s.Queue, "staging": staging}).Info("submitted the application to YARN")
	return appID, nil
}

// impersonation explains a server's refusal to let the login act for the proxy user.
func (c *Client) impersonation(err error) error {
	if c.proxyUser == "" || !strings.Contains(err.Error(), "AuthorizationException") {
		return err
	}
	short := c.login.ShortName()
	return fmt.Errorf("the cluster does not let %s act for %s (--proxy-user): its hadoop.proxyuser.%s.hosts and .groups or .users rules must allow it, on the ResourceManager and the NameNode: %w",
		c.login.Principal(), c.proxyUser, short, err)
}

func (c *Client) rmAddrs() []string {
	rms, err := c.Conf.ResourceManagers(hconf.RMClient)
	if err != nil {
		return nil
	}
	var out []string
	for _, r := range rms {
		out = append(out, r.Addr)
	}
	return out
}

func envList(env map[string]string) []*yarnpb.StringStringMap {
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]*yarnpb.StringStringMap, len(keys))
	for i, k := range keys {
		out[i] = &yarnpb.StringStringMap{Key: proto.String(k), Value: proto.String(env[k])}
	}
	return out
}

// stage uploads the binary and the configuration archive into dir (mode 700) and returns
// their LocalResources, with the size and modification time HDFS reports after closing.
func (c *Client) stage(dir, binary string, dist []distFile) ([]*yarnpb.StringLocalResourceMap, error) {
	fs, u, err := c.hdfs()
	if err != nil {
		return nil, err
	}
	if err := fs.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	bin, err := os.Open(binary)
	if err != nil {
		return nil, fmt.Errorf("opening the application binary: %w", err)
	}
	defer bin.Close()
	confZip, err := zipConf(c.confDirs)
	if err != nil {
		return nil, err
	}
	type file struct {
		name, link string
		r          io.Reader
		typ        yarnpb.LocalResourceType
	}
	files := []file{
		{appBinaryName, appBinaryName, bin, yarnpb.LocalResourceType_FILE},
		{confDirName + ".zip", confDirName, bytes.NewReader(confZip), yarnpb.LocalResourceType_ARCHIVE},
	}
	// With a keytab login the keytab travels too (in the 700 staging directory), so
	// the AM, the driver and the executors log in themselves and can outlive any token.
	// Never for a proxy user: the keytab is the gateway's own identity.
	if c.login != nil && c.proxyUser == "" {
		if _, kt := fsx.KerberosKeytab(); kt != "" {
			ktData, err := os.ReadFile(kt)
			if err != nil {
				return nil, fmt.Errorf("reading the keytab: %w", err)
			}
			krb5, err := os.ReadFile(krb.ConfigPath(""))
			if err != nil {
				return nil, fmt.Errorf("reading krb5.conf for the containers: %w", err)
			}
			files = append(files, file{keytabName, keytabName, bytes.NewReader(ktData), yarnpb.LocalResourceType_FILE},
				file{krb5ConfName, krb5ConfName, bytes.NewReader(krb5), yarnpb.LocalResourceType_FILE})
			c.keytabShipped = true
		}
	}
	var out []*yarnpb.StringLocalResourceMap
	// --files and --archives: local ones are uploaded beside the binary,
	// hdfs:// ones are localized from where they are.
	for i, d := range dist {
		typ := yarnpb.LocalResourceType_FILE
		if d.archive {
			typ = yarnpb.LocalResourceType_ARCHIVE
		}
		if !d.hdfs {
			f, err := os.Open(d.src)
			if err != nil {
				return nil, fmt.Errorf("shipping %s: %w", d.src, err)
			}
			defer f.Close()
			// The staged name keeps the source's suffix: the NodeManager
			// unpacks an archive by it.
			files = append(files, file{fmt.Sprintf("dist-%d-%s", i, filepath.Base(d.src)), d.alias, f, typ})
			continue
		}
		du, err := url.Parse(d.src)
		if err != nil {
			return nil, err
		}
		if du.Host != "" && du.Host != u.Host {
			return nil, fmt.Errorf("shipping %s: only files of the cluster's file system (%s) can be localized", d.src, u.Host)
		}
		st, err := fs.Stat(du.Path)
		if err != nil {
			return nil, fmt.Errorf("shipping %s: %w", d.src, err)
		}
		out = append(out, &yarnpb.StringLocalResourceMap{Key: proto.String(d.alias), Value: &yarnpb.LocalResource{
			Resource: resourceURL(u, du.Path), Size: proto.Int64(st.Size()), Timestamp: proto.Int64(st.ModTime().UnixMilli()),
			Type: typ.Enum(), Visibility: yarnpb.LocalResourceVisibility_APPLICATION.Enum(),
		}})
	}
	for _, f := range files {
		p := path.Join(dir, f.name)
		if err := upload(fs, p, f.r); err != nil {
			return nil, err
		}
		st, err := fs.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("stat %s: %w", p, err)
		}
		out = append(out, &yarnpb.StringLocalResourceMap{Key: proto.String(f.link), Value: &yarnpb.LocalResource{
			Resource:   resourceURL(u, p),
			Size:       proto.Int64(st.Size()),
			Timestamp:  proto.Int64(st.ModTime().UnixMilli()),
			Type:       f.typ.Enum(),
			Visibility: yarnpb.LocalResourceVisibility_APPLICATION.Enum(),
		}})
	}
	return out, nil
}

func upload(fs *hdfs.Client, p string, r io.Reader) error {
	w, err := fs.Create(p)
	if err != nil {
		return fmt.Errorf("creating %s: %w", p, err)
	}
	if _, err := io.Copy(w, r); err != nil {
		w.Close()
		return fmt.Errorf("writing %s: %w", p, quotaHint(err))
	}
	for i := 0; ; i++ {
		err := w.Close()
		if err == nil {
			return nil
		}
		if !errors.Is(err, hdfs.ErrReplicating) || i >= 20 {
			return fmt.Errorf("closing %s: %w", p, quotaHint(err))
		}
		time.Sleep(time.Duration(50*(i+1)) * time.Millisecond)
	}
}

// quotaHint names the HDFS quota when the NameNode refused a write for it.
func quotaHint(err error) error {
	if strings.Contains(err.Error(), "QuotaExceeded") || strings.Contains(err.Error(), "quota") {
		return fmt.Errorf("the staging directory's HDFS quota is exceeded (set stoke.yarn.stagingDir elsewhere or raise the quota): %w", err)
	}
	return err
}

// resourceURL is YARN's URL of an HDFS path; a port-less authority (an HA nameservice) has
// port -1, as Java's URL.fromURI writes it.
func resourceURL(u *url.URL, p string) *yarnpb.URL {
	host, port := u.Host, int32(-1)
	if h, ps, err := net.SplitHostPort(u.Host); err == nil {
		if n, err := strconv.Atoi(ps); err == nil {
			host, port = h, int32(n)
		}
	}
	return &yarnpb.URL{Scheme: proto.String(u.Scheme), Host: proto.String(host), Port: proto.Int32(port), File: proto.String(p)}
}

// zipConf packs the *.xml files of the configuration directories (the first directory
// holding a name wins), so containers see the client's view of the cluster.
func zipConf(dirs []string) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	seen := map[string]bool{}
	for _, d := range dirs {
		files, err := filepath.Glob(filepath.Join(d, "*.xml"))
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			name := filepath.Base(f)
			if seen[name] {
				continue
			}
			seen[name] = true
			data, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("reading the Hadoop configuration: %w", err)
			}
			w, err := zw.Create(name)
			if err != nil {
				return nil, err
			}
			w.Write(data)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// removeStaging deletes an application's staging directory.
func (c *Client) removeStaging(dir string) {
	if c.fs == nil {
		return
	}
	if err := c.fs.RemoveAll(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		c.log.WithError(err).Warnf("could not remove the staging directory %s", dir)
	}
}

// Cleanup removes the staging directory of an ended application.
func (c *Client) Cleanup(base, appID string) {
	if _, _, err := c.hdfs(); err != nil {
		return
	}
	c.removeStaging(c.StagingDir(base, appID))
}

// Report returns the application's report.
func (c *Client) Report(ctx context.Context, appID string) (*yarnpb.ApplicationReport, error) {
	id, err := ParseAppID(appID)
	if err != nil {
		return nil, err
	}
	var r yarnpb.GetApplicationReportResponse
	if err := c.rm.Call(ctx, "getApplicationReport", &yarnpb.GetApplicationReportRequest{ApplicationId: id}, &r); err != nil {
		if ipc.IsRemote(err, "org.apache.hadoop.yarn.exceptions.ApplicationNotFoundException") {
			return nil, fmt.Errorf("the ResourceManager does not know application %s", appID)
		}
		return nil, fmt.Errorf("report of %s: %w", appID, err)
	}
	return r.GetApplicationReport(), nil
}

// Kill asks the RM to kill the application, repeating until it says the kill completed.
func (c *Client) Kill(ctx context.Context, appID, why string) error {
	id, err := ParseAppID(appID)
	if err != nil {
		return err
	}
	for {
		var r yarnpb.KillApplicationResponse
		if err := c.rm.Call(ctx, "forceKillApplication", &yarnpb.KillApplicationRequest{ApplicationId: id, Diagnostics: proto.String(why)}, &r); err != nil {
			if ipc.IsRemote(err, "org.apache.hadoop.yarn.exceptions.ApplicationNotFoundException") {
				return fmt.Errorf("the ResourceManager does not know application %s", appID)
			}
			return fmt.Errorf("killing %s: %w", appID, err)
		}
		if r.GetIsKillCompleted() {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Terminal says whether a state is final.
func Terminal(s yarnpb.YarnApplicationState) bool {
	return s == yarnpb.YarnApplicationState_FINISHED || s == yarnpb.YarnApplicationState_FAILED || s == yarnpb.YarnApplicationState_KILLED
}

// Wait polls the report until until(report) is true or the application ends, calling
// changed on every state change. It polls fast (100 ms) until the application runs, then
// every interval.
func (c *Client) Wait(ctx context.Context, appID string, interval time.Duration, until func(*yarnpb.ApplicationReport) bool, changed func(*yarnpb.ApplicationReport)) (*yarnpb.ApplicationReport, error) {
	var last yarnpb.YarnApplicationState
	for {
		r, err := c.Report(ctx, appID)
		if err != nil {
			return nil, err
		}
		if st := r.GetYarnApplicationState(); st != last {
			last = st
			if changed != nil {
				changed(r)
			}
		}
		if (until != nil && until(r)) || Terminal(last) {
			return r, nil
		}
		wait := interval
		if last < yarnpb.YarnApplicationState_RUNNING {
			wait = 100 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// Describe words a report for users.
func Describe(r *yarnpb.ApplicationReport) string {
	s := fmt.Sprintf("%s (%s) state %v", AppIDString(r.GetApplicationId()), r.GetName(), r.GetYarnApplicationState())
	if Terminal(r.GetYarnApplicationState()) {
		s += fmt.Sprintf(", final status %v", strings.TrimPrefix(r.GetFinalApplicationStatus().String(), "APP_"))
	}
	if u := r.GetTrackingUrl(); u != "" && u != "N/A" {
		s += ", tracking URL " + u
	}
	if d := r.GetDiagnostics(); d != "" && d != "N/A" && r.GetYarnApplicationState() != yarnpb.YarnApplicationState_RUNNING {
		s += "\ndiagnostics: " + d
	}
	return s
}

// hdfsDelegationToken gets an HDFS delegation token the RM can renew (renewer: the RM's
// principal) and sets its service to the NameNode's ip:port, as Java's DFSClient does, so
// NodeManagers can localize the staged files and the RM can renew it.
func (c *Client) hdfsDelegationToken(ctx context.Context) (*commonpb.Token, error) {
	renewer, err := c.rmRenewer()
	if err != nil {
		return nil, err
	}
	return c.hdfsDelegationTokenFor(ctx, renewer)
}

// rmRenewer is the RM's principal, the renewer of the delegation tokens the RM renews.
func (c *Client) rmRenewer() (string, error) {
	rms, err := c.Conf.ResourceManagers(hconf.RMClient)
	if err != nil || len(rms) == 0 {
		return "", fmt.Errorf("the RM's principal for the delegation token's renewer: %v", err)
	}
	rmHost, _, _ := net.SplitHostPort(rms[0].Addr)
	renewer := krb.ExpandHost(c.Conf.Get("yarn.resourcemanager.principal"), rmHost)
	if renewer == "" {
		return "", errors.New("yarn.resourcemanager.principal is not set: no renewer for the HDFS delegation token")
	}
	return renewer, nil
}

// otherFSTokens adds an HDFS delegation token of each of fss (renewer: the RM) to creds. On a
// cluster without Kerberos there are none to get.
func (c *Client) otherFSTokens(ctx context.Context, fss []*url.URL, creds *tokenfile.Credentials) error {
	if len(fss) == 0 {
		return nil
	}
	if c.login == nil {
		c.log.Info("stoke.kerberos.access.hadoopFileSystems: the cluster does not use Kerberos; no delegation tokens to get")
		return nil
	}
	renewer, err := c.rmRenewer()
	if err != nil {
		return err
	}
	for _, u := range fss {
		tok, err := c.hdfsDelegationTokenAt(ctx, u.Host, renewer)
		if err != nil {
			return fmt.Errorf("stoke.kerberos.access.hadoopFileSystems: %s: %w", u, err)
		}
		creds.AddToken(tok.GetService(), tok)
	}
	return nil
}

// namenodeAt returns a Kerberos RPC client for the NameNode at addr (host:port), acting for
// the proxy user if any. The NameNode's principal is this configuration's.
func (c *Client) namenodeAt(addr string) (*ipc.Client, string, error) {
	if c.login == nil {
		return nil, "", errors.New("HDFS delegation tokens need a Kerberos login (hadoop.security.authentication=kerberos)")
	}
	cfg, err := ipc.ConfigFrom(c.Conf, ipc.ClientNamenodeProtocol)
	if err != nil {
		return nil, "", err
	}
	cfg.Auth = []ipc.Authenticator{&krb.GSSAPIAuth{Login: c.login, ServerPrincipal: c.Conf.Get("dfs.namenode.kerberos.principal"),
		ServerPrincipalPattern: c.Conf.Get("dfs.namenode.kerberos.principal.pattern"), ProxyUser: c.proxyUser}}
	nn, err := ipc.NewClient([]string{addr}, cfg)
	if err != nil {
		return nil, "", err
	}
	return nn, addr, nil
}

// renewHDFSToken renews a delegation token whose renewer is this client's user at the
// NameNode of its service and returns its new expiry (never after the token's maximum date).
func (c *Client) renewHDFSToken(ctx context.Context, tok *commonpb.Token) (time.Time, error) {
	nn, host, err := c.namenodeAt(tok.GetService())
	if err != nil {
		return time.Time{}, err
	}
	defer nn.Close()
	var resp hdfspb.RenewDelegationTokenResponseProto
	if err := nn.Call(ctx, "renewDelegationToken", &hdfspb.RenewDelegationTokenRequestProto{Token: tok}, &resp); err != nil {
		return time.Time{}, fmt.Errorf("renewing the HDFS delegation token at %s: %w", host, err)
	}
	return time.UnixMilli(int64(resp.GetNewExpiryTime())), nil
}

// hdfsDelegationTokenFor gets an HDFS delegation token of fs.defaultFS that renewer may renew.
func (c *Client) hdfsDelegationTokenFor(ctx context.Context, renewer string) (*commonpb.Token, error) {
	_, u, err := c.hdfs()
	if err != nil {
		return nil, err
	}
	return c.hdfsDelegationTokenAt(ctx, u.Host, renewer)
}

// hdfsDelegationTokenAt gets a delegation token from the NameNode at addr that renewer may
// renew, with its service set to the NameNode's ip:port.
func (c *Client) hdfsDelegationTokenAt(ctx context.Context, addr, renewer string) (*commonpb.Token, error) {
	nn, _, err := c.namenodeAt(addr)
	if err != nil {
		return nil, err
	}
	defer nn.Close()
	var resp hdfspb.GetDelegationTokenResponseProto
	if err := nn.Call(ctx, "getDelegationToken", &hdfspb.GetDelegationTokenRequestProto{Renewer: proto.String(renewer)}, &resp); err != nil {
		return nil, fmt.Errorf("getting an HDFS delegation token from %s: %w", addr, err)
	}
	tok := resp.GetToken()
	if tok == nil || len(tok.GetIdentifier()) == 0 {
		return nil, fmt.Errorf("the NameNode %s issued no delegation token (is security enabled there?)", addr)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if ips, err := net.LookupHost(host); err == nil {
		for _, ip := range ips {
			if net.ParseIP(ip).To4() != nil {
				host = ip
				break
			}
		}
	}
	tok.Service = proto.String(net.JoinHostPort(host, port))
	return tok, nil
}

// confForAM is the AM's EnvConf value for a STOKE_SUBMIT_CONF: the settings
// whose values are secrets go into creds instead (the container environment
// is written to the NodeManager's launch script and kept by the
// ResourceManager), the rest base64-encoded.
func confForAM(submitConf string, creds *tokenfile.Credentials) (string, error) {
	entries, err := conf.DecodeSubmit(submitConf)
	if err != nil {
		return "", err
	}
	var public, secret []conf.Entry
	for _, e := range entries {
		if conf.IsSensitive(e.Key) {
			secret = append(secret, e)
		} else {
			public = append(public, e)
		}
	}
	if len(secret) > 0 {
		creds.SetSecret(confSecretAlias, []byte(conf.EncodeSubmit(secret)))
	}
	return base64.StdEncoding.EncodeToString([]byte(conf.EncodeSubmit(public))), nil
}

// PriorityCapped says when the RM granted a lower priority than asked:
// YARN caps it at yarn.cluster.max-application-priority (0 by default)
// without an error. "" when it did not (or the report has no priority).
func PriorityCapped(asked int, r *yarnpb.ApplicationReport) string {
	if r.GetPriority() == nil || asked <= 0 {
		return ""
	}
	if got := int(r.GetPriority().GetPriority()); got < asked {
		return fmt.Sprintf("%s runs at priority %d, not the %d asked (stoke.yarn.priority): the cluster caps application priorities (yarn.cluster.max-application-priority, 0 unless set)",
			AppIDString(r.GetApplicationId()), got, asked)
	}
	return ""
}

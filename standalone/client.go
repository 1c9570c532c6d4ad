package standalone

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/stoke-run/stoke/backend"
	"github.com/stoke-run/stoke/backend/coarse"
	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/internal/distfiles"
	"github.com/stoke-run/stoke/internal/rpc"
	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
)

// Client is the backend of an application on a standalone cluster
// (stoke://host:port[,host:port]): it registers the application with the
// leading master, serves the application binary to workers, and receives
// its executors on a coarse.Server.
type Client struct {
	Masters []string // host:port
	Conf    *conf.Conf
	Log     logrus.FieldLogger
	Binary  string // default: this process's executable
	// BinarySHA256, if set, is registered as the binary's hash instead of
	// hashing Binary (a tool that ships a binary of known hash).
	BinarySHA256 string
	// ClusterSecret, if set, is presented to the master instead of the one
	// the configuration names (local-cluster's own).
	ClusterSecret string

	srv     *coarse.Server
	driver  backend.Driver
	masters *masters
	desc    AppDescription
	binLis  net.Listener
	binSrv  *http.Server
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	mu    sync.Mutex
	appID string
	cores map[string]int
	// total is the latest RequestTotalExecutors (-1: none yet), sent
	// again when the application re-attaches under dynamic allocation.
	total int
}

var _ backend.Backend = (*Client)(nil)

// NewClient returns the backend for master m.
func NewClient(m conf.Master, c *conf.Conf, log logrus.FieldLogger) (*Client, error) {
	if m.Kind != conf.Standalone {
		return nil, fmt.Errorf("master %q is not a standalone master (stoke://host:port)", m.Raw)
	}
	if log == nil {
		log = logrus.StandardLogger()
	}
	return &Client{Masters: m.Hosts, Conf: c, Log: log}, nil
}

// shippedFile is one of stoke.files or stoke.archives, hashed.
type shippedFile struct {
	path, name, format, sha string
}

// shippedFiles reads stoke.files and stoke.archives: local files of the
// driver's machine, served by the driver to the workers with the binary.
func shippedFiles(c *conf.Conf) ([]shippedFile, error) {
	seen := map[string]string{}
	o := distfiles.Options{Reserved: executorReserved, Stat: func(p string) error {
		fi, err := os.Stat(p)
		if err == nil && !fi.Mode().IsRegular() {
			return fmt.Errorf("%s is not a regular file", p)
		}
		return err
	}, Where: "every executor's directory on a standalone cluster"}
	var out []shippedFile
	for _, archive := range []bool{false, true} {
		key := map[bool]string{false: "stoke.files", true: "stoke.archives"}[archive]
		es, err := distfiles.Parse(c.String(key), archive, seen, o)
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			sha, err := fileSHA256(e.Src)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", key, err)
			}
			f := shippedFile{path: e.Src, name: e.Alias, sha: sha}
			if archive {
				for _, s := range distfiles.ArchiveSuffixes {
					if strings.HasSuffix(strings.ToLower(e.Src), s) {
						f.format = s
						break
					}
				}
			}
			out = append(out, f)
		}
	}
	if len(out) > maxFiles {
		return nil, fmt.Errorf("stoke.files and stoke.archives: at most %d files on a standalone cluster, got %d", maxFiles, len(out))
	}
	return out, nil
}

// appDescription builds the registration from the configuration.
func (b *Client) appDescription() (AppDescription, error) {
	c := b.Conf
	d := AppDescription{Name: c.String("stoke.app.name"), LogLevel: c.String("stoke.log.level"), DriverID: os.Getenv("STOKE_DRIVER_ID")}
	if d.Name == "" {
		d.Name = filepath.Base(b.Binary)
	}
	dyn, err := c.Bool("stoke.dynamicAllocation.enabled")
	if err != nil {
		return d, err
	}
	d.DynamicAllocation = dyn
	// Dynamic allocation sizes its requests in executors of
	// stoke.executor.cores (default 1), so executors must have that many.
	if _, set := c.Get("stoke.executor.cores"); set || dyn {
		n, err := c.Int("stoke.executor.cores")
		if err != nil {
			return d, err
		}
		d.CoresPerExecutor = n
	}
	mem, err := c.Bytes("stoke.executor.memory")
	if err != nil {
		return d, err
	}
	d.MemPerExecutor = int(mem >> 20)
	if _, set := c.Get("stoke.cores.max"); set {
		if d.MaxCores, err = c.Int("stoke.cores.max"); err != nil {
			return d, err
		}
	}
	return d, nil
}

func (b *Client) Start(ctx context.Context, d backend.Driver) error {
	b.ctx, b.cancel = context.WithCancel(context.Background())
	if b.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("finding this program's binary to ship to workers: %w", err)
		}
		b.Binary = exe
	}
	desc, err := b.appDescription()
	if err != nil {
		return err
	}
	files, err := shippedFiles(b.Conf)
	if err != nil {
		return err
	}
	sha := b.BinarySHA256
	if sha == "" {
		if sha, err = fileSHA256(b.Binary); err != nil {
			return fmt.Errorf("hashing the application binary %s: %w", b.Binary, err)
		}
	}
	timeout, err := b.Conf.Duration("stoke.network.timeout")
	if err != nil {
		return err
	}
	port, err := b.Conf.Int("stoke.driver.port")
	if err != nil {
		return err
	}
	clusterSecret := b.ClusterSecret
	if clusterSecret == "" {
		if clusterSecret, _, err = ClientSecret(b.Conf); err != nil {
			return err
		}
	}
	// The application's own secret: only its executors receive it, so
	// another application's executors cannot join this driver.
	secret := rpc.NewSecret()
	host := b.Conf.String("stoke.driver.host")
	if host == "" {
		host = rpc.OutboundHost(b.Masters[0])
	}
	b.masters = newMasters(b.Masters, clusterSecret)
	b.srv, err = coarse.NewServer(coarse.Options{Host: host, Port: port, Secret: secret, Conf: b.Conf, Log: b.Log, NetworkTimeout: timeout})
	if err != nil {
		return err
	}
	b.srv.Attach(d)
	b.driver = d
	if b.binLis, err = net.Listen("tcp", net.JoinHostPort(host, "0")); err != nil {
		b.srv.Stop()
		b.srv = nil
		return fmt.Errorf("serving the application binary on %s: %w", host, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/binary", serveFile(b.Binary, secret))
	base := "http://" + b.binLis.Addr().String()
	for i, f := range files {
		p := "/files/" + strconv.Itoa(i)
		mux.Handle(p, serveFile(f.path, secret))
		desc.Files = append(desc.Files, FileSource{BinarySource: BinarySource{URL: base + p, SHA256: f.sha, Secret: secret}, Name: f.name, Format: f.format})
	}
	b.binSrv = HTTPLimits{}.serve(b.binLis, mux)
	desc.DriverAddress = b.srv.Address()
	// The master's UI links the application to its driver's UI.
	desc.DriverUIURL = backend.DriverUIURL(d, host, b.Conf.String("stoke.driver.bindAddress"))
	desc.Binary = BinarySource{URL: "http://" + b.binLis.Addr().String() + "/binary", SHA256: sha, Secret: secret}
	desc.Secret = secret
	b.desc = desc
	b.cores = map[string]int{}
	b.total = -1

	regTimeout, err := b.Conf.Duration("stoke.standalone.registrationTimeout")
	if err != nil {
		b.shutdown()
		b.srv = nil
		return err
	}
	reg, err := b.register(ctx, desc, regTimeout)
	if err != nil {
		b.shutdown()
		b.srv = nil
		return err
	}
	b.appID = reg.ID
	b.Log.Infof("application %s registered with master %v", reg.ID, b.Masters)
	b.wg.Add(1)
	go b.poll()
	return nil
}

// register registers the application, trying every master again (a master
// starting, restarting or failing over) until one accepts it or timeout
// passes. A refusal from the leading master (a wrong secret, a request it
// cannot accept) ends the attempts at once: retrying would not change it.
func (b *Client) register(ctx context.Context, desc AppDescription, timeout time.Duration) (AppRegistered, error) {
	var reg AppRegistered
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	wait := 200 * time.Millisecond
	for {
		err := b.masters.call(rctx, pathAppRegister, desc, &reg, min(30*time.Second, timeout))
		if err == nil {
			return reg, nil
		}
		var ae *apiError
		if errors.As(err, &ae) && !ae.Reply.Standby {
			return reg, fmt.Errorf("registering application %q with the standalone master: %w", desc.Name, err)
		}
		if ctx.Err() != nil {
			return reg, fmt.Errorf("registering application %q with the standalone master: %w", desc.Name, ctx.Err())
		}
		b.Log.WithError(err).Warnf("registering application %q: no master accepted it yet; trying again in %v", desc.Name, wait)
		select {
		case <-rctx.Done():
			return reg, fmt.Errorf("no standalone master among %v accepted application %q within %v (stoke.standalone.registrationTimeout): %w",
				b.Masters, desc.Name, timeout, err)
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// poll receives executor events from the master; the poll is also the
// driver's heartbeat. After a master failover it registers again under the
// same application id.
func (b *Client) poll() {
	defer b.wg.Done()
	var ack int64
	var errs errorLog
	lost := false // a poll failed: the master may have changed
	for b.ctx.Err() == nil {
		var reply AppPollReply
		err := b.masters.call(b.ctx, pathAppPoll, AppPoll{ID: b.ApplicationID(), Ack: ack}, &reply, time.Minute)
		if err != nil {
			if b.ctx.Err() != nil {
				return
			}
			if isUnknown(err) {
				desc := b.desc
				desc.ID = b.ApplicationID()
				err = b.masters.call(b.ctx, pathAppRegister, desc, nil, 30*time.Second)
				if err == nil {
					ack = 0
					b.Log.Infof("application %s re-attached to the standalone master", desc.ID)
					continue
				}
				var ae *apiError
				if errors.As(err, &ae) && (ae.Status == http.StatusConflict || ae.Status == http.StatusForbidden) {
					b.ended(fmt.Errorf("the standalone master removed application %s and refuses it back: %s", desc.ID, ae.Reply.Error))
					return
				}
			}
			lost = true
			if errs.should(err.Error(), time.Now()) {
				b.Log.WithError(err).Warn("polling the standalone master")
			}
			select {
			case <-b.ctx.Done():
				return
			case <-time.After(200 * time.Millisecond):
			}
			continue
		}
		if lost {
			lost = false
			b.resendTotal()
		}
		for _, ev := range reply.Events {
			if ev.Seq <= ack {
				continue
			}
			ack = ev.Seq
			b.apply(ev)
		}
	}
}

// ended is called when the master will not have the application back:
// the driver fails its jobs at once instead of waiting for executors that
// will never come.
func (b *Client) ended(err error) {
	b.Log.WithError(err).Error("the application has ended on the standalone master; its jobs fail")
	if e, ok := b.driver.(backend.ApplicationEnder); ok {
		e.ApplicationEnded(err)
	}
}

func (b *Client) apply(ev AppEvent) {
	switch ev.Kind {
	case "added":
		b.mu.Lock()
		b.cores[ev.ExecutorID] = ev.Cores
		b.mu.Unlock()
		b.Log.Debugf("executor %s granted on worker %s (%s), %d core(s)", ev.ExecutorID, ev.WorkerID, ev.Host, ev.Cores)
	case "exited":
		b.mu.Lock()
		delete(b.cores, ev.ExecutorID)
		b.mu.Unlock()
		b.Log.Infof("executor %s ended: %s", ev.ExecutorID, ev.Message)
		b.srv.ExecutorExited(ev.ExecutorID, ev.Message)
	case "warning":
		b.Log.Warnf("standalone master: %s", ev.Message)
	}
}

func (b *Client) shutdown() {
	b.cancel()
	b.srv.Stop()
	if b.binSrv != nil {
		b.binSrv.Close()
	}
}

func (b *Client) Stop(ctx context.Context) error {
	if b.srv == nil {
		return nil
	}
	// Stop polling first, so that the poll cannot register the application
	// again once the master has ended it.
	b.cancel()
	b.wg.Wait()
	err := b.masters.call(ctx, pathAppUnregister, AppPoll{ID: b.ApplicationID()}, nil, 5*time.Second)
	b.shutdown()
	if err != nil {
		return fmt.Errorf("unregistering application %s: %w", b.ApplicationID(), err)
	}
	return nil
}

// ReleaseBroadcasts tells the executors to drop their broadcast copies
// (backend.BroadcastReleaser).
func (b *Client) ReleaseBroadcasts(names []string) {
	if b.srv != nil {
		b.srv.ReleaseBroadcasts(names)
	}
}

// StackDump implements backend.StackDumper.
func (b *Client) StackDump(ctx context.Context, id string) (string, error) {
	return b.srv.StackDump(ctx, id)
}

func (b *Client) LaunchTasks(id string, tasks []*pb.TaskDesc) error {
	return b.srv.LaunchTasks(id, tasks)
}
func (b *Client) KillTask(id string, task int64, reason string) error {
	return b.srv.KillTask(id, task, reason)
}
func (b *Client) FetchResult(ctx context.Context, id, block string) ([]byte, error) {
	return b.srv.FetchResult(ctx, id, block)
}
func (b *Client) Revive() {}

// ReleaseCached tells the executors to drop the datasets' cached partitions.
func (b *Client) ReleaseCached(ids []int32) { b.srv.ReleaseCached(ids) }

// RequestTotalExecutors asks the master for n executors in total.
func (b *Client) RequestTotalExecutors(n int) error {
	if n < 0 {
		return errors.New("a negative executor total")
	}
	b.mu.Lock()
	b.total = n
	b.mu.Unlock()
	return b.masters.call(b.ctx, pathAppRequest, AppRequest{ID: b.ApplicationID(), Total: n}, nil, 10*time.Second)
}

// KillExecutors asks the master to stop these executors (and lowers the
// application's total by as many).
func (b *Client) KillExecutors(ids []string) error {
	return b.masters.call(b.ctx, pathAppKill, AppKill{ID: b.ApplicationID(), ExecutorIDs: ids}, nil, 10*time.Second)
}

func (b *Client) DefaultParallelism() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, c := range b.cores {
		n += c
	}
	return max(2, n)
}

func (b *Client) ApplicationID() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.appID
}

// resendTotal asks the master again for the latest executor total of a
// dynamically allocated application, after polls failed: a new or
// restarted master starts it at no new executor (a recovered one) or none
// at all (a re-registered one).
func (b *Client) resendTotal() {
	b.mu.Lock()
	total := b.total
	b.mu.Unlock()
	if !b.desc.DynamicAllocation || total < 0 {
		return
	}
	if err := b.RequestTotalExecutors(total); err != nil {
		b.Log.WithError(err).Warnf("asking the master again for %d executors", total)
	}
}

// DecommissionExecutor asks an executor to copy its shuffle output to
// others before it goes (backend.Decommissioner).
func (b *Client) DecommissionExecutor(id string, d *pb.Decommission, report func(*pb.MigrationReport)) error {
	return b.srv.DecommissionExecutor(id, d, report)
}

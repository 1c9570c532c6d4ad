package standalone

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/stoke-run/stoke/backend"
	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/internal/rpc"
)

// LocalCluster is local-cluster[N,C,M]: a real master and N workers of C
// cores and M MiB in this process for the application's lifetime, with
// executors as separate processes, reached through the stoke:// backend.
type LocalCluster struct {
	*Client
	N, C, M int
	master  *Master
	workers []*Worker
	dir     string
}

var _ backend.Backend = (*LocalCluster)(nil)

// NewLocalCluster checks the request against the workers' size.
func NewLocalCluster(m conf.Master, c *conf.Conf, log logrus.FieldLogger) (*LocalCluster, error) {
	if m.Kind != conf.LocalCluster {
		return nil, fmt.Errorf("master %q is not local-cluster[N,C,M]", m.Raw)
	}
	mem, err := c.Bytes("stoke.executor.memory")
	if err != nil {
		return nil, err
	}
	if int(mem>>20) > m.MemoryPerWorkerMiB {
		return nil, fmt.Errorf("%s: stoke.executor.memory is %d MiB but each worker has only %d MiB; lower stoke.executor.memory or raise M",
			m.Raw, mem>>20, m.MemoryPerWorkerMiB)
	}
	if cores, set := c.Get("stoke.executor.cores"); set {
		if n, err := strconv.Atoi(cores); err == nil && n > m.CoresPerWorker {
			return nil, fmt.Errorf("%s: stoke.executor.cores is %d but each worker has only %d cores", m.Raw, n, m.CoresPerWorker)
		}
	}
	if log == nil {
		log = logrus.StandardLogger()
	}
	return &LocalCluster{Client: &Client{Conf: c, Log: log}, N: m.Workers, C: m.CoresPerWorker, M: m.MemoryPerWorkerMiB}, nil
}

// Start starts the master and the workers, then the application.
func (l *LocalCluster) Start(ctx context.Context, d backend.Driver) error {
	dir, err := os.MkdirTemp("", "stoke-local-cluster-")
	if err != nil {
		return err
	}
	l.dir = dir
	opts, err := MasterOptionsFromConf(l.Conf)
	if err != nil {
		return err
	}
	daemonLog := quieter(l.Log)
	opts.Host, opts.Port, opts.WebUIPort = "127.0.0.1", 0, -1
	opts.RecoveryMode, opts.WorkDir, opts.Log = RecoveryNone, filepath.Join(dir, "master"), daemonLog
	// Its own cluster secret, only in memory: nothing else on the machine
	// can submit to this cluster.
	opts.Secret, opts.SecretFile = rpc.NewSecret(), ""
	l.Client.ClusterSecret = opts.Secret
	if l.master, err = StartMaster(opts); err != nil {
		l.cleanup()
		return err
	}
	// Its workers run the shuffle service when the application wants it.
	shuffleService, err := l.Conf.Bool("stoke.shuffle.service.enabled")
	if err != nil {
		l.cleanup()
		return err
	}
	for i := 0; i < l.N; i++ {
		w, err := StartWorker(WorkerOptions{Masters: []string{l.master.Addr()}, Host: "127.0.0.1", Cores: l.C, MemoryMiB: l.M,
			WorkDir: filepath.Join(dir, fmt.Sprintf("worker-%d", i)), WebUIPort: 0, Secret: opts.Secret, SkipMemoryCheck: true, Log: daemonLog,
			ShuffleService: shuffleService})
		if err != nil {
			l.cleanup()
			return err
		}
		l.workers = append(l.workers, w)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for _, w := range l.workers {
		if err := w.WaitRegistered(wctx); err != nil {
			l.cleanup()
			return err
		}
	}
	l.Client.Masters = []string{l.master.Addr()}
	if err := l.Client.Start(ctx, d); err != nil {
		l.cleanup()
		return err
	}
	return nil
}

// Stop ends the application, then the workers and the master.
func (l *LocalCluster) Stop(ctx context.Context) error {
	err := l.Client.Stop(ctx)
	l.cleanup()
	return err
}

func (l *LocalCluster) cleanup() {
	for _, w := range l.workers {
		w.Stop()
	}
	if l.master != nil {
		l.master.Stop()
	}
	if l.dir != "" {
		os.RemoveAll(l.dir)
	}
}

// Master is the in-process master (tests read its state).
func (l *LocalCluster) Master() *Master { return l.master }

// Workers are the in-process workers.
func (l *LocalCluster) Workers() []*Worker { return l.workers }

// ExecutorPID finds the process of one of the application's executors.
func (l *LocalCluster) ExecutorPID(id string) (int, bool) {
	for _, w := range l.workers {
		if pid, ok := w.ExecutorPIDs()[l.ApplicationID()+"/"+id]; ok {
			return pid, true
		}
	}
	return 0, false
}

// quieter is the log of local-cluster's own master and workers: warnings
// and errors only, unless the application logs at debug or trace.
func quieter(log logrus.FieldLogger) logrus.FieldLogger {
	base, ok := log.(*logrus.Logger)
	if !ok || base.IsLevelEnabled(logrus.DebugLevel) {
		return log
	}
	q := logrus.New()
	q.SetOutput(base.Out)
	q.SetFormatter(base.Formatter)
	q.SetLevel(logrus.WarnLevel)
	return q
}

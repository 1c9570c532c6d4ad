package standalone

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"google.golang.org/grpc"

	"github.com/stoke-run/stoke/executor"
	"github.com/stoke-run/stoke/internal/rpc"
	"github.com/stoke-run/stoke/internal/shufflesvc"
)

// The worker's shuffle service (stoke.shuffle.service.enabled): executors
// of an application that enables it write their map outputs into
// <work dir>/<app id>/shuffle, and the worker serves them over the
// executors' FetchBlocks protocol, each application's to its own secret,
// for as long as the application lives, so that dynamic allocation may
// release executors without losing their shuffle output. When the master
// says the application ended, the worker stops serving it and removes the
// directory.

// startShuffleService listens on the worker's host; c.mu is not needed.
func (w *Worker) startShuffleService() error {
	lis, err := net.Listen("tcp", net.JoinHostPort(w.opts.Host, strconv.Itoa(w.opts.ShuffleServicePort)))
	if err != nil {
		return fmt.Errorf("worker shuffle service port %d on %s: %w", w.opts.ShuffleServicePort, w.opts.Host, err)
	}
	// The same TLS settings the worker's executors get (they inherit its
	// environment) secure the service.
	sec, err := rpc.TLSFromEnv().ServerOption()
	if err != nil {
		lis.Close()
		return err
	}
	w.shuffle = shufflesvc.NewServer(w.opts.WorkDir, ValidAppID)
	w.shuffleSrv = grpc.NewServer(append(rpc.ServerLimits(128<<20), sec)...)
	w.shuffle.Register(w.shuffleSrv)
	w.shuffleLis = lis
	go w.shuffleSrv.Serve(lis)
	return nil
}

// ShuffleServiceAddr is host:port of the worker's shuffle service ("" if
// it runs none).
func (w *Worker) ShuffleServiceAddr() string {
	if w.shuffleLis == nil {
		return ""
	}
	return w.shuffleLis.Addr().String()
}

// shuffleEnv is what an executor of spec needs to write where the service
// serves; c.mu is not needed.
func (w *Worker) shuffleEnv(spec LaunchExecutor) []string {
	if w.shuffle == nil {
		return nil
	}
	w.shuffle.AddApp(spec.AppID, spec.Secret)
	return []string{
		executor.EnvShuffleServiceAddress + "=" + w.ShuffleServiceAddr(),
		executor.EnvShuffleServiceDir + "=" + w.shuffle.Dir(spec.AppID),
	}
}

// appFinished stops serving an application's shuffle files and removes
// them once its executors here are gone.
func (w *Worker) appFinished(appID string) {
	if !ValidAppID(appID) {
		w.log.Errorf("refusing to clean up application %s: not an id a master makes", quoteID(appID))
		return
	}
	if w.shuffle != nil {
		w.shuffle.RemoveApp(appID)
	}
	w.mu.Lock()
	var execs []*runningExecutor
	for _, e := range w.executors {
		if e.spec.AppID == appID {
			execs = append(execs, e)
		}
	}
	w.mu.Unlock()
	go func() {
		for _, e := range execs {
			e.kill()
		}
		for _, e := range execs {
			e.wait(10 * time.Second)
		}
		dir := filepath.Join(w.opts.WorkDir, appID, shufflesvc.DirName)
		if _, err := os.Lstat(dir); err != nil {
			return
		}
		if err := os.RemoveAll(dir); err != nil {
			w.log.WithError(err).Warnf("removing the shuffle files of ended application %s", appID)
			return
		}
		w.log.Infof("removed the shuffle files of ended application %s", appID)
	}()
}

func (w *Worker) stopShuffleService() {
	if w.shuffleSrv != nil {
		w.shuffleSrv.Stop()
	}
}

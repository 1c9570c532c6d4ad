package standalone

import (
	"fmt"
	"strings"

	"github.com/stoke-run/stoke/internal/conf"
)

func init() {
	conf.Register(conf.Key{Name: "stoke.worker.timeout", Default: "60s", Type: conf.TypeDuration, Unit: "s",
		Doc: "Standalone: a worker (or driver) silent this long is declared dead by the master."})
	conf.Register(conf.Key{Name: "stoke.deploy.recoveryMode", Default: "NONE", Type: conf.TypeString,
		Check: func(v any) error {
			switch strings.ToUpper(v.(string)) {
			case RecoveryNone, RecoveryFilesystem, RecoveryZooKeeper:
				return nil
			}
			return fmt.Errorf("expected NONE, FILESYSTEM or ZOOKEEPER")
		},
		Doc: "Standalone master recovery: NONE, FILESYSTEM (stoke.deploy.recoveryDirectory) or ZOOKEEPER (leader election)."})
	conf.Register(conf.Key{Name: "stoke.deploy.recoveryDirectory", Type: conf.TypeString,
		Doc: "Standalone: directory of the master's state with FILESYSTEM recovery."})
	conf.Register(conf.Key{Name: "stoke.deploy.zookeeper.url", Type: conf.TypeString,
		Doc: "Standalone: ZooKeeper host:port[,host:port] for ZOOKEEPER recovery."})
	conf.Register(conf.Key{Name: "stoke.deploy.zookeeper.dir", Default: "/stoke", Type: conf.TypeString,
		Doc: "Standalone: ZooKeeper znode under which masters elect a leader and keep state."})
	conf.Register(conf.Key{Name: "stoke.deploy.zookeeper.sessionTimeout", Default: "10s", Type: conf.TypeDuration, Unit: "s",
		Doc: "Standalone: ZooKeeper session timeout; a standby master takes over this long after the leader dies."})
	conf.Register(conf.Key{Name: KeySecretFile, Type: conf.TypeString,
		Doc: "File holding the cluster secret (one line, mode 0600), as Spark's spark.authenticate.secret.file. Standalone: `stoke master` creates $STOKE_CONF_DIR/cluster.secret (else ~/.stoke/cluster.secret) when no secret is given; workers and `stoke submit` read that file by default."})
	conf.Register(conf.Key{Name: "stoke.deploy.driverDisconnectGrace", Default: "5s", Type: conf.TypeDuration, Unit: "s",
		Doc: "Standalone: a driver that has no poll open at the master for this long (a live driver polls again at once; a killed one does not) has its application failed and its executors killed."})
	conf.Register(conf.Key{Name: "stoke.master.ui.port", Default: "8080", Type: conf.TypeInt,
		Doc: "Standalone: port of the master's web UI."})
	conf.Register(conf.Key{Name: "stoke.worker.ui.port", Default: "8081", Type: conf.TypeInt,
		Doc: "Standalone: port of the worker's web UI."})
	conf.Register(conf.Key{Name: "stoke.standalone.registrationTimeout", Default: "60s", Type: conf.TypeDuration, Unit: "s", Check: conf.AtLeast(int64(1e6)),
		Doc: "How long the driver tries to register its application with a standalone master (retrying every master) before it fails."})
	conf.Register(conf.Key{Name: "stoke.deploy.historyServer.address", Type: conf.TypeString, Check: conf.HistoryServerAddress,
		Doc: "Master: host:port (or http(s)://host:port) of stoke history-server; completed applications link to their page there."})
	conf.Register(conf.Key{Name: "stoke.ui.reverseProxy", Default: "false", Type: conf.TypeBool,
		Doc: "Master: serve each running application's driver UI under /proxy/<application>/ of the master's UI, for clusters whose drivers users cannot reach (read-only: GET only)."})
	conf.Register(conf.Key{Name: "stoke.deploy.maxBinarySize", Default: "1g", Type: conf.TypeBytes, Unit: "b", Check: conf.AtLeast(1),
		Doc: "Standalone: largest application binary a master accepts for upload and a worker downloads."})
	conf.Register(conf.Key{Name: "stoke.deploy.retainedApplications", Default: "200", Type: conf.TypeInt, Check: conf.AtLeast(1),
		Doc: "Standalone: ended applications the master keeps for its UI and /json; older ones are forgotten."})
	conf.Register(conf.Key{Name: "stoke.deploy.retainedDrivers", Default: "200", Type: conf.TypeInt, Check: conf.AtLeast(1),
		Doc: "Standalone: ended cluster-mode drivers the master keeps for its UI and /json; older ones are forgotten."})
	conf.Register(conf.Key{Name: "stoke.deploy.http.readHeaderTimeout", Default: "10s", Type: conf.TypeDuration, Unit: "s", Check: conf.AtLeast(1),
		Doc: "Standalone: time a client of the master's or a worker's HTTP servers has to send a request's headers."})
	conf.Register(conf.Key{Name: "stoke.deploy.http.readTimeout", Default: "30s", Type: conf.TypeDuration, Unit: "s", Check: conf.AtLeast(1),
		Doc: "Standalone: time a client of the master's or a worker's HTTP servers has to send a whole request (binary uploads get more, by size)."})
	conf.Register(conf.Key{Name: "stoke.deploy.http.idleTimeout", Default: "120s", Type: conf.TypeDuration, Unit: "s", Check: conf.AtLeast(1),
		Doc: "Standalone: an idle keep-alive connection to the master's or a worker's HTTP servers is closed after this long."})
	conf.Register(conf.Key{Name: "stoke.deploy.http.maxConnections", Default: "4096", Type: conf.TypeInt, Check: conf.AtLeast(1),
		Doc: "Standalone: connections the master's API and UI servers and a worker's UI server each serve at once; more wait."})
	conf.Register(conf.Key{Name: "stoke.worker.cleanup.enabled", Default: "true", Type: conf.TypeBool,
		Doc: "Standalone: the worker removes work directories of ended applications and drivers, and unused cached binaries, older than stoke.worker.cleanup.appDataTtl."})
	conf.Register(conf.Key{Name: "stoke.worker.cleanup.interval", Default: "1800s", Type: conf.TypeDuration, Unit: "s", Check: conf.AtLeast(1),
		Doc: "Standalone: how often the worker looks for old work directories."})
	conf.Register(conf.Key{Name: "stoke.worker.cleanup.appDataTtl", Default: "604800s", Type: conf.TypeDuration, Unit: "s", Check: conf.AtLeast(1),
		Doc: "Standalone: a work directory untouched this long, of an application or driver no longer running on the worker, is removed (7 days)."})
}

// MasterOptionsFromConf fills the master's settings from configuration.
func MasterOptionsFromConf(c *conf.Conf) (MasterOptions, error) {
	var o MasterOptions
	var err error
	if o.WorkerTimeout, err = c.Duration("stoke.worker.timeout"); err != nil {
		return o, err
	}
	if o.SpreadOut, err = c.Bool("stoke.deploy.spreadOut"); err != nil {
		return o, err
	}
	if o.WebUIPort, err = c.Int("stoke.master.ui.port"); err != nil {
		return o, err
	}
	if o.ReverseProxy, err = c.Bool("stoke.ui.reverseProxy"); err != nil {
		return o, err
	}
	o.HistoryURL, _ = conf.HistoryServerBase(c.String("stoke.deploy.historyServer.address"))
	o.Secret = c.String(KeySecret)
	if o.DriverGrace, err = c.Duration("stoke.deploy.driverDisconnectGrace"); err != nil {
		return o, err
	}
	o.RecoveryMode = strings.ToUpper(c.String("stoke.deploy.recoveryMode"))
	o.RecoveryDir = c.String("stoke.deploy.recoveryDirectory")
	o.ZooKeeperURL = c.String("stoke.deploy.zookeeper.url")
	o.ZooKeeperDir = c.String("stoke.deploy.zookeeper.dir")
	if o.ZooKeeperSession, err = c.Duration("stoke.deploy.zookeeper.sessionTimeout"); err != nil {
		return o, err
	}
	if o.HTTP, err = HTTPLimitsFromConf(c); err != nil {
		return o, err
	}
	if o.MaxBinarySize, err = c.Bytes("stoke.deploy.maxBinarySize"); err != nil {
		return o, err
	}
	if o.RetainedApps, err = c.Int("stoke.deploy.retainedApplications"); err != nil {
		return o, err
	}
	if o.RetainedDrivers, err = c.Int("stoke.deploy.retainedDrivers"); err != nil {
		return o, err
	}
	return o, nil
}

// HTTPLimitsFromConf reads stoke.deploy.http.*.
func HTTPLimitsFromConf(c *conf.Conf) (HTTPLimits, error) {
	var l HTTPLimits
	var err error
	if l.ReadHeaderTimeout, err = c.Duration("stoke.deploy.http.readHeaderTimeout"); err != nil {
		return l, err
	}
	if l.ReadTimeout, err = c.Duration("stoke.deploy.http.readTimeout"); err != nil {
		return l, err
	}
	if l.IdleTimeout, err = c.Duration("stoke.deploy.http.idleTimeout"); err != nil {
		return l, err
	}
	if l.MaxConnections, err = c.Int("stoke.deploy.http.maxConnections"); err != nil {
		return l, err
	}
	return l, nil
}

// WorkerBoundsFromConf fills a worker's HTTP limits, binary size bound and
// work dir cleanup from configuration.
func WorkerBoundsFromConf(c *conf.Conf, o *WorkerOptions) error {
	var err error
	if o.HTTP, err = HTTPLimitsFromConf(c); err != nil {
		return err
	}
	if o.MaxBinarySize, err = c.Bytes("stoke.deploy.maxBinarySize"); err != nil {
		return err
	}
	enabled, err := c.Bool("stoke.worker.cleanup.enabled")
	if err != nil {
		return err
	}
	o.Cleanup.Disabled = !enabled
	if o.Cleanup.Interval, err = c.Duration("stoke.worker.cleanup.interval"); err != nil {
		return err
	}
	if o.Cleanup.TTL, err = c.Duration("stoke.worker.cleanup.appDataTtl"); err != nil {
		return err
	}
	if o.ShuffleService, err = c.Bool("stoke.shuffle.service.enabled"); err != nil {
		return err
	}
	if o.ShuffleServicePort, err = c.Int("stoke.shuffle.service.port"); err != nil {
		return err
	}
	return nil
}

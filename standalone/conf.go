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
	return o, nil
}

package conf

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseMasterGood(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Master
	}{
		{"local", Master{Kind: Local, Raw: "local", Slots: 1, MaxFailures: 1}},
		{" local ", Master{Kind: Local, Raw: "local", Slots: 1, MaxFailures: 1}},
		{"local[4]", Master{Kind: Local, Raw: "local[4]", Slots: 4, MaxFailures: 1}},
		{"local[*]", Master{Kind: Local, Raw: "local[*]", Slots: 0, MaxFailures: 1}},
		{"local[4,3]", Master{Kind: Local, Raw: "local[4,3]", Slots: 4, MaxFailures: 3}},
		{"local[*, 2]", Master{Kind: Local, Raw: "local[*, 2]", Slots: 0, MaxFailures: 2}},
		{"local[ 16 ]", Master{Kind: Local, Raw: "local[ 16 ]", Slots: 16, MaxFailures: 1}},
		{"local-cluster[2,3,1024]", Master{Kind: LocalCluster, Raw: "local-cluster[2,3,1024]", Workers: 2, CoresPerWorker: 3, MemoryPerWorkerMiB: 1024}},
		{"local-cluster[ 2 , 1 , 512 ]", Master{Kind: LocalCluster, Raw: "local-cluster[ 2 , 1 , 512 ]", Workers: 2, CoresPerWorker: 1, MemoryPerWorkerMiB: 512}},
		{"stoke://master1:7077", Master{Kind: Standalone, Raw: "stoke://master1:7077", Hosts: []string{"master1:7077"}}},
		{"stoke://m1", Master{Kind: Standalone, Raw: "stoke://m1", Hosts: []string{"m1:7077"}}},
		{"stoke://m1:7000,m2,10.0.0.3:7001", Master{Kind: Standalone, Raw: "stoke://m1:7000,m2,10.0.0.3:7001", Hosts: []string{"m1:7000", "m2:7077", "10.0.0.3:7001"}}},
		{"stoke://[::1]:7078,[fe80::1]", Master{Kind: Standalone, Raw: "stoke://[::1]:7078,[fe80::1]", Hosts: []string{"[::1]:7078", "[fe80::1]:7077"}}},
		{"yarn", Master{Kind: YARN, Raw: "yarn"}},
		{"mesos://mesos-master:5051", Master{Kind: Mesos, Raw: "mesos://mesos-master:5051", Hosts: []string{"mesos-master:5051"}}},
		{"mesos://mesos-master", Master{Kind: Mesos, Raw: "mesos://mesos-master", Hosts: []string{"mesos-master:5050"}}},
		{"mesos://zk://zk1:2181,zk2:2182/mesos", Master{Kind: Mesos, Raw: "mesos://zk://zk1:2181,zk2:2182/mesos", ZooKeeper: "zk1:2181,zk2:2182/mesos"}},
		{"mesos://zk://zk1/mesos/prod", Master{Kind: Mesos, Raw: "mesos://zk://zk1/mesos/prod", ZooKeeper: "zk1:2181/mesos/prod"}},
	} {
		got, err := ParseMaster(tc.in)
		if err != nil {
			t.Errorf("ParseMaster(%q): %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseMaster(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestParseMasterBad(t *testing.T) {
	for _, tc := range []struct{ in, why string }{
		{"", "empty"},
		{"   ", "empty"},
		{"LOCAL", "unknown form"},
		{"locale", "unknown form"},
		{"local[0]", "task slot count N must be at least 1"},
		{"local[-1]", `task slot count N "-1" is not a positive integer`},
		{"local[x]", "is not a positive integer"},
		{"local[]", "empty value"},
		{"local[4", "missing closing ']'"},
		{"local[4]x", "missing closing ']'"},
		{"local[4,0]", "max failures F must be at least 1"},
		{"local[4,]", "empty value"},
		{"local[4,2,1]", "got 3 values"},
		{"local[*,*]", "max failures F"},
		{"local[1.5]", "not a positive integer"},
		{"local[99999999999999999999999]", "out of range"},
		{"local-cluster[2,1]", "got 2 values"},
		{"local-cluster[0,1,512]", "worker count N must be at least 1"},
		{"local-cluster[2,0,512]", "cores per worker C must be at least 1"},
		{"local-cluster[2,1,0]", "MiB per worker M must be at least 1"},
		{"local-cluster[2,1,1g]", "MiB per worker M"},
		{"local-cluster", "unknown form"},
		{"stoke://", "no host given"},
		{"stoke://:7077", "empty host name"},
		{"stoke://host:", `port "" is not a number`},
		{"stoke://host:abc", `port "abc" is not a number`},
		{"stoke://host:0", "is not a number from 1 to 65535"},
		{"stoke://host:70000", "from 1 to 65535"},
		{"stoke://host:-1", "from 1 to 65535"},
		{"stoke://a,,b", "empty host"},
		{"stoke://a:7077,", "empty host"},
		{"stoke://host/path", "invalid character '/'"},
		{"stoke://us er@host", "invalid character"},
		{"stoke://::1:7077", "brackets"},
		{"stoke://[::1", "missing ']'"},
		{"stoke://[nope]:7077", "not an IPv6 address"},
		{"stoke://[10.0.0.1]:7077", "not an IPv6 address"},
		{"stoke://[::1]x", "unexpected"},
		{"stoke://-host", "not a valid host name"},
		{"spark://host:7077", "scheme is stoke://, not spark://"},
		{"yarn-client", "unknown form"},
		{"YARN", "unknown form"},
		{"k8s://https://host:443", "unknown form"},
		{"mesos://", "no host given"},
		{"mesos://a:5050,b:5050", "through ZooKeeper"},
		{"mesos://host:port", `port "port"`},
		{"mesos://zk://zk1:2181", "needs a path"},
		{"mesos://zk://zk1:2181/", "needs a path"},
		{"mesos://zk:///mesos", "no host given"},
		{"mesos://zk://zk1:x/mesos", `port "x"`},
		{"mesos://zk://zk1//mesos", "invalid ZooKeeper path"},
		{"http://host:7077", "unknown form"},
	} {
		_, err := ParseMaster(tc.in)
		if err == nil {
			t.Errorf("ParseMaster(%q) succeeded", tc.in)
			continue
		}
		msg := err.Error()
		prefix := `cannot parse master URL "` + tc.in + `"`
		if !strings.HasPrefix(msg, prefix) {
			t.Errorf("ParseMaster(%q) error %q does not start with %q", tc.in, msg, prefix)
		}
		if !strings.Contains(msg, tc.why) {
			t.Errorf("ParseMaster(%q) error %q does not mention %q", tc.in, msg, tc.why)
		}
		for _, form := range []string{"local[N,F]", "local-cluster[N,C,M]", "stoke://", "yarn", "mesos://zk://"} {
			if !strings.Contains(msg, form) {
				t.Errorf("ParseMaster(%q) error does not list %q", tc.in, form)
			}
		}
	}
}

func TestMasterIsLocal(t *testing.T) {
	for in, want := range map[string]bool{
		"local": true, "local[2]": true, "local-cluster[1,1,512]": true,
		"yarn": false, "stoke://h": false, "mesos://h": false,
	} {
		m, err := ParseMaster(in)
		if err != nil {
			t.Fatal(err)
		}
		if m.IsLocal() != want {
			t.Errorf("%s IsLocal = %v", in, !want)
		}
	}
	if Local.String() != "local" || YARN.String() != "yarn" || MasterKind(0).String() != "MasterKind(0)" {
		t.Error("MasterKind.String")
	}
}

package conf

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// MasterKind is the kind of cluster manager a master URL names.
type MasterKind int

const (
	Local        MasterKind = iota + 1 // local, local[N], local[N,F]
	LocalCluster                       // local-cluster[N,C,M]
	Standalone                         // stoke://host:port[,host:port...]
	YARN                               // yarn
	Mesos                              // mesos://host:port, mesos://zk://...
)

func (k MasterKind) String() string {
	switch k {
	case Local:
		return "local"
	case LocalCluster:
		return "local-cluster"
	case Standalone:
		return "standalone"
	case YARN:
		return "yarn"
	case Mesos:
		return "mesos"
	}
	return "MasterKind(" + strconv.Itoa(int(k)) + ")"
}

// Default ports of the cluster managers.
const (
	DefaultStandalonePort = 7077
	DefaultMesosPort      = 5050
	DefaultZooKeeperPort  = 2181
)

// Master is a parsed master URL (SPEC §2).
type Master struct {
	Kind MasterKind
	Raw  string // the URL as given, trimmed

	// Local: task slots; 0 means local[*] (one per CPU).
	Slots int
	// Local: attempts of a task before its job fails; 1 unless local[N,F].
	MaxFailures int

	// LocalCluster: local-cluster[Workers,CoresPerWorker,MemoryPerWorkerMiB].
	Workers, CoresPerWorker, MemoryPerWorkerMiB int

	// Standalone and Mesos (without ZooKeeper): host:port of each master,
	// with the default port filled in.
	Hosts []string
	// Mesos through ZooKeeper: "host:port[,host:port...]/path", default
	// port filled in.
	ZooKeeper string
}

// IsLocal reports whether the master runs everything on this machine: local
// or local-cluster.
func (m Master) IsLocal() bool { return m.Kind == Local || m.Kind == LocalCluster }

const acceptedMasters = "accepted forms: local, local[N], local[*], local[N,F], local[*,F], " +
	"local-cluster[N,C,M], stoke://host[:port][,host[:port]...] (default port 7077), yarn, " +
	"mesos://host[:port] (default port 5050), mesos://zk://host[:port][,host[:port]...]/path"

// MasterError is a master URL ParseMaster refuses.
type MasterError struct {
	URL    string
	Reason string
}

func (e *MasterError) Error() string {
	return fmt.Sprintf("cannot parse master URL %q: %s; %s", e.URL, e.Reason, acceptedMasters)
}

// ParseMaster parses a master URL. Anything it does not accept is refused
// with a *MasterError whose text starts `cannot parse master URL "<s>"` and
// lists the accepted forms.
func ParseMaster(s string) (Master, error) {
	raw := strings.TrimSpace(s)
	fail := func(format string, args ...any) (Master, error) {
		return Master{}, &MasterError{URL: s, Reason: fmt.Sprintf(format, args...)}
	}
	m := Master{Raw: raw}
	switch {
	case raw == "":
		return fail("empty")
	case raw == "local":
		m.Kind, m.Slots, m.MaxFailures = Local, 1, 1
		return m, nil
	case strings.HasPrefix(raw, "local["):
		parts, err := bracketArgs(raw, "local[")
		if err != nil {
			return fail("%v", err)
		}
		if len(parts) != 1 && len(parts) != 2 {
			return fail("local takes [N] or [N,F], got %d values", len(parts))
		}
		m.Kind, m.MaxFailures = Local, 1
		if parts[0] != "*" {
			if m.Slots, err = positiveInt(parts[0], "task slot count N"); err != nil {
				return fail("%v", err)
			}
		}
		if len(parts) == 2 {
			if m.MaxFailures, err = positiveInt(parts[1], "max failures F"); err != nil {
				return fail("%v", err)
			}
		}
		return m, nil
	case strings.HasPrefix(raw, "local-cluster["):
		parts, err := bracketArgs(raw, "local-cluster[")
		if err != nil {
			return fail("%v", err)
		}
		if len(parts) != 3 {
			return fail("local-cluster takes [N,C,M] (workers, cores per worker, MiB per worker), got %d values", len(parts))
		}
		m.Kind = LocalCluster
		if m.Workers, err = positiveInt(parts[0], "worker count N"); err != nil {
			return fail("%v", err)
		}
		if m.CoresPerWorker, err = positiveInt(parts[1], "cores per worker C"); err != nil {
			return fail("%v", err)
		}
		if m.MemoryPerWorkerMiB, err = positiveInt(parts[2], "MiB per worker M"); err != nil {
			return fail("%v", err)
		}
		return m, nil
	case raw == "yarn":
		m.Kind = YARN
		return m, nil
	case strings.HasPrefix(raw, "stoke://"):
		hosts, err := hostList(strings.TrimPrefix(raw, "stoke://"), DefaultStandalonePort)
		if err != nil {
			return fail("%v", err)
		}
		m.Kind, m.Hosts = Standalone, hosts
		return m, nil
	case strings.HasPrefix(raw, "mesos://zk://"):
		rest := strings.TrimPrefix(raw, "mesos://zk://")
		i := strings.IndexByte(rest, '/')
		if i < 0 || i == len(rest)-1 {
			return fail("a ZooKeeper URL needs a path after the hosts, e.g. mesos://zk://host:2181/mesos")
		}
		path := rest[i:]
		if strings.ContainsAny(path, " \t,") || strings.Contains(path, "//") {
			return fail("invalid ZooKeeper path %q", path)
		}
		hosts, err := hostList(rest[:i], DefaultZooKeeperPort)
		if err != nil {
			return fail("%v", err)
		}
		m.Kind, m.ZooKeeper = Mesos, strings.Join(hosts, ",")+path
		return m, nil
	case strings.HasPrefix(raw, "mesos://"):
		rest := strings.TrimPrefix(raw, "mesos://")
		if strings.Contains(rest, ",") {
			return fail("several Mesos masters must be given through ZooKeeper: mesos://zk://host:2181,.../mesos")
		}
		hosts, err := hostList(rest, DefaultMesosPort)
		if err != nil {
			return fail("%v", err)
		}
		m.Kind, m.Hosts = Mesos, hosts
		return m, nil
	}
	if strings.HasPrefix(raw, "spark://") {
		return fail("the standalone master scheme is stoke://, not spark://")
	}
	return fail("unknown form")
}

// bracketArgs returns the comma-separated, trimmed values of
// "prefix v1, v2 ]".
func bracketArgs(raw, prefix string) ([]string, error) {
	if !strings.HasSuffix(raw, "]") {
		return nil, fmt.Errorf("missing closing ']'")
	}
	inner := raw[len(prefix) : len(raw)-1]
	parts := strings.Split(inner, ",")
	for i, p := range parts {
		parts[i] = strings.TrimSpace(p)
		if parts[i] == "" {
			return nil, fmt.Errorf("empty value inside [...]")
		}
	}
	return parts, nil
}

func positiveInt(s, what string) (int, error) {
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, fmt.Errorf("%s %q is not a positive integer", what, s)
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%s %q is out of range", what, s)
	}
	if n < 1 {
		return 0, fmt.Errorf("%s must be at least 1, got %d", what, n)
	}
	return n, nil
}

// hostList parses "host[:port][,host[:port]...]" into host:port strings,
// filling in defaultPort.
func hostList(s string, defaultPort int) ([]string, error) {
	if s == "" {
		return nil, fmt.Errorf("no host given")
	}
	var out []string
	for _, hp := range strings.Split(s, ",") {
		h, err := hostPort(strings.TrimSpace(hp), defaultPort)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, nil
}

func hostPort(s string, defaultPort int) (string, error) {
	if s == "" {
		return "", fmt.Errorf("empty host in host list")
	}
	host, port := s, strconv.Itoa(defaultPort)
	switch {
	case strings.HasPrefix(s, "["): // [v6] or [v6]:port
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", fmt.Errorf("host %q: missing ']'", s)
		}
		host = s[1:end]
		if ip, err := netip.ParseAddr(host); err != nil || !ip.Is6() || ip.Is4In6() {
			return "", fmt.Errorf("host %q: %q is not an IPv6 address", s, host)
		}
		switch rest := s[end+1:]; {
		case rest == "":
		case strings.HasPrefix(rest, ":"):
			port = rest[1:]
		default:
			return "", fmt.Errorf("host %q: unexpected %q after ']'", s, rest)
		}
	case strings.Count(s, ":") > 1:
		return "", fmt.Errorf("host %q: write IPv6 addresses in brackets, e.g. [::1]:%d", s, defaultPort)
	case strings.Contains(s, ":"):
		i := strings.IndexByte(s, ':')
		host, port = s[:i], s[i+1:]
		if err := checkHostName(host, s); err != nil {
			return "", err
		}
	default:
		if err := checkHostName(host, s); err != nil {
			return "", err
		}
	}
	p, err := positiveInt(port, "port")
	if err != nil || p > 65535 {
		return "", fmt.Errorf("host %q: port %q is not a number from 1 to 65535", s, port)
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return host + ":" + strconv.Itoa(p), nil
}

func checkHostName(host, whole string) error {
	if host == "" {
		return fmt.Errorf("host %q: empty host name", whole)
	}
	for _, r := range host {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_'
		if !ok {
			return fmt.Errorf("host %q: invalid character %q in host name", whole, r)
		}
	}
	if strings.HasPrefix(host, ".") || strings.HasPrefix(host, "-") || strings.HasSuffix(host, "-") || strings.Contains(host, "..") {
		return fmt.Errorf("host %q: %q is not a valid host name", whole, host)
	}
	return nil
}

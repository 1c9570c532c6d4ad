package yarn

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/stoke-run/stoke/internal/hadoop/hconf"
)

// defaultRack is Hadoop's rack of a node no topology places.
const defaultRack = "/default-rack"

// maxCachedRacks bounds the resolver's cache (hosts come from the driver).
const maxCachedRacks = 100_000

// rackResolver finds the racks of nodes as the cluster's configuration
// says, like Hadoop's RackResolver in an application master: a topology
// script (net.topology.script.file.name, at most
// net.topology.script.number.args hosts per run), a table
// (net.topology.node.switch.mapping.impl = ...TableMapping with
// net.topology.table.file.name: "host rack" lines), else every node in
// /default-rack. Answers are cached; a failing script or table puts the
// hosts it could not place in /default-rack, with a warning, as Hadoop does.
type rackResolver struct {
	script  string
	maxArgs int
	table   map[string]string
	timeout time.Duration
	log     logrus.FieldLogger
	// run runs the script with args (a variable for tests).
	run func(ctx context.Context, script string, args []string) ([]byte, error)

	mu    sync.Mutex
	cache map[string]string
}

func newRackResolver(hc *hconf.Config, log logrus.FieldLogger) *rackResolver {
	r := &rackResolver{maxArgs: 100, timeout: 30 * time.Second, log: log, cache: map[string]string{}, run: runScript}
	if n, err := strconv.Atoi(strings.TrimSpace(hc.Get("net.topology.script.number.args"))); err == nil && n > 0 {
		r.maxArgs = n
	}
	impl := strings.TrimSpace(hc.Get("net.topology.node.switch.mapping.impl"))
	if strings.HasSuffix(impl, ".TableMapping") {
		file := strings.TrimSpace(hc.Get("net.topology.table.file.name"))
		table, err := readRackTable(file)
		if err != nil {
			log.WithError(err).Warnf("net.topology.table.file.name: every node is in %s", defaultRack)
			table = map[string]string{}
		}
		r.table = table
		return r
	}
	r.script = strings.TrimSpace(hc.Get("net.topology.script.file.name"))
	return r
}

func runScript(ctx context.Context, script string, args []string) ([]byte, error) {
	return exec.CommandContext(ctx, script, args...).Output()
}

// readRackTable reads a TableMapping file: one "host rack" pair per line,
// blank lines and lines of another shape skipped, as Hadoop does.
func readRackTable(file string) (map[string]string, error) {
	if file == "" {
		return nil, fmt.Errorf("not set")
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	table := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 2 && validRack(fields[1]) {
			table[fields[0]] = fields[1]
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return table, nil
}

// validRack is a network location as YARN takes it in a resource request:
// "/"-separated names of DNS-safe characters.
func validRack(r string) bool {
	if len(r) < 2 || len(r) > 255 || r[0] != '/' || strings.HasSuffix(r, "/") || strings.Contains(r, "//") {
		return false
	}
	for _, c := range r[1:] {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_' || c == '/') {
			return false
		}
	}
	return true
}

// Racks maps each host (valid host names only: see validHost) to its rack.
func (r *rackResolver) Racks(hosts []string) map[string]string {
	out := make(map[string]string, len(hosts))
	var todo []string
	r.mu.Lock()
	for _, h := range hosts {
		if rack, ok := r.cache[h]; ok {
			out[h] = rack
		} else {
			todo = append(todo, h)
		}
	}
	r.mu.Unlock()
	for len(todo) > 0 {
		n := min(len(todo), r.maxArgs)
		batch := todo[:n]
		todo = todo[n:]
		racks := r.resolve(batch)
		r.mu.Lock()
		if len(r.cache) > maxCachedRacks {
			r.cache = map[string]string{}
		}
		for i, h := range batch {
			out[h], r.cache[h] = racks[i], racks[i]
		}
		r.mu.Unlock()
	}
	return out
}

// resolve places one batch of hosts.
func (r *rackResolver) resolve(hosts []string) []string {
	racks := make([]string, len(hosts))
	for i := range racks {
		racks[i] = defaultRack
	}
	switch {
	case r.table != nil:
		for i, h := range hosts {
			if rack, ok := r.table[h]; ok {
				racks[i] = rack
			}
		}
	case r.script != "":
		ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
		defer cancel()
		out, err := r.run(ctx, r.script, hosts)
		if err != nil {
			r.log.WithError(err).Warnf("topology script %s failed for %d host(s): they are in %s", r.script, len(hosts), defaultRack)
			return racks
		}
		got := strings.Fields(string(out))
		if len(got) != len(hosts) {
			r.log.Warnf("topology script %s gave %d rack(s) for %d host(s): they are in %s", r.script, len(got), len(hosts), defaultRack)
			return racks
		}
		for i, rack := range got {
			if validRack(rack) {
				racks[i] = rack
			} else {
				r.log.Warnf("topology script %s placed %s in %q, not a rack (/name...): it is in %s", r.script, hosts[i], rack, defaultRack)
			}
		}
	}
	return racks
}

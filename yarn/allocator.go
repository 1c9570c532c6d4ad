package yarn

import (
	"fmt"
	"math"
	"sort"
	"strconv"

	"google.golang.org/protobuf/proto"

	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/yarnpb"
)

// Special container exit statuses (YARN's ContainerExitStatus).
const (
	exitSuccess              = 0
	exitInvalid              = -1000
	exitAborted              = -100
	exitDisksFailed          = -101
	exitPreempted            = -102
	exitKilledExceededVMem   = -103
	exitKilledExceededPMem   = -104
	exitKilledByAppMaster    = -105
	exitKilledByRM           = -106
	exitKilledAfterAppFinish = -107
)

// allocator is the AM's pure bookkeeping of executor containers: the absolute outstanding
// ask, which allocated container runs which executor, the failures per node and in total,
// and the node blacklist. The AM loop feeds it allocate responses and container outcomes
// and sends what it returns; it does no I/O, so its rules are tested without YARN.
type allocator struct {
	capability  *yarnpb.Resource
	priority    int32
	maxFailures int // executor failures before the application fails
	maxPerNode  int // failures on one node before it is blacklisted

	target    int
	nextExec  int
	lastAsk   int // "*" count last sent; -1 forces a send
	live      map[string]*execContainer
	stopping  map[string]bool // containers the AM stopped or released: not failures
	release   []*yarnpb.ContainerId
	failures  int
	perNode   map[string]int
	blacklist map[string]bool
	blAdd     []string
	blRemove  []string
	nodes     int // cluster nodes, from the last allocate response

	// label is the executors' node label expression
	// (stoke.yarn.executor.nodeLabelExpression), sent on the "*" ask.
	label string
	// hints say where pending tasks' data is; hostAsks are the node- and rack-level
	// asks last sent (absolute counts, like "*").
	hints    localityHints
	hostAsks map[string]int
}

// localityHints are the driver's view of where its pending tasks would run
// best: Executors is how many executors those tasks fill, Hosts how many
// of them prefer each host (Spark's hostToLocalTaskCount).
type localityHints struct {
	Executors int
	Hosts     map[string]int
	// Racks places the hosts (the cluster's topology); nil sends no
	// rack-level asks.
	Racks map[string]string
}

// execContainer is one container allocated to an executor.
type execContainer struct {
	ExecID    string
	Container *yarnpb.Container
	Running   bool // started on its NodeManager
}

// Host is the node the container runs on.
func (c *execContainer) Host() string { return c.Container.GetNodeId().GetHost() }

// exitEvent is a finished executor container, for the driver.
type exitEvent struct {
	ExecID  string `json:"executor"`
	Host    string `json:"host"`
	Exit    int32  `json:"exit"`
	Reason  string `json:"reason"`
	Failure bool   `json:"failure"` // counted against stoke.yarn.max.executor.failures
}

func newAllocator(capability *yarnpb.Resource, priority int32, maxFailures, maxPerNode int) *allocator {
	return &allocator{
		capability: capability, priority: priority, maxFailures: maxFailures, maxPerNode: maxPerNode,
		lastAsk: -1, live: map[string]*execContainer{}, stopping: map[string]bool{},
		perNode: map[string]int{}, blacklist: map[string]bool{},
	}
}

// setTarget sets how many executors should run.
func (a *allocator) setTarget(n int) {
	if n < 0 {
		n = 0
	}
	a.target = n
}

// pending is how many containers are wanted but not yet allocated.
func (a *allocator) pending() int {
	if n := a.target - len(a.live); n > 0 {
		return n
	}
	return 0
}

// setLocality takes the driver's latest locality hints.
func (a *allocator) setLocality(h localityHints) { a.hints = h }

// hostAsksNow places the pending containers near the data, as Spark's
// locality-preferred placement does: each host with pending local tasks
// deserves a share of the executors those tasks fill, in proportion to
// its tasks, less the containers it already runs; the pending containers
// up to that number ask for those hosts (each for the hosts whose share
// it still serves), the rest for anywhere. The result counts, per host,
// the pending containers that name it.
func (a *allocator) hostAsksNow() map[string]int {
	pending := a.pending()
	total := 0
	for _, n := range a.hints.Hosts {
		total += n
	}
	if pending == 0 || total == 0 || a.hints.Executors <= 0 {
		return nil
	}
	running := map[string]int{}
	for _, c := range a.live {
		running[c.Host()]++
	}
	share := map[string]int{}
	sum, largest := 0, 0
	for h, n := range a.hints.Hosts {
		want := int(math.Ceil(float64(n)*float64(a.hints.Executors)/float64(total))) - running[h]
		if want > 0 && !a.blacklist[h] {
			share[h] = want
			sum += want
			largest = max(largest, want)
		}
	}
	aware := min(sum, pending)
	if aware == 0 {
		return nil
	}
	// Scale each share to the containers that ask for hosts: the host with
	// the largest share is named by all of them, others by fewer.
	asks := map[string]int{}
	for h, want := range share {
		asks[h] = min(aware, int(math.Ceil(float64(want)*float64(aware)/float64(largest))))
	}
	return asks
}

// withRacks adds to the node-level asks one per rack of their hosts, as
// Hadoop's AMRMClient does: the containers that name a rack are those that
// name any of its hosts, and since the containers naming a host are nested
// (see hostAsksNow), that is the largest of its hosts' counts. A rack ask
// lets the scheduler fall back to the data's rack before anywhere. Racks
// start with "/", which no host does.
func (a *allocator) withRacks(hosts map[string]int) map[string]int {
	if len(hosts) == 0 || a.hints.Racks == nil {
		return hosts
	}
	racks := map[string]int{}
	for h, n := range hosts {
		if r := a.hints.Racks[h]; r != "" {
			racks[r] = max(racks[r], n)
		}
	}
	for r, n := range racks {
		hosts[r] = n
	}
	return hosts
}

// request fills the ask, release and blacklist fields of the next allocate call. The ask is
// the absolute number of containers still wanted, sent when it changed (the RM keeps the last
// value), with node- and rack-level asks beside it when the driver's hints name hosts (every
// one sent again when any changes, and 0 for those no longer wanted); releases and blacklist changes
// are sent once.
func (a *allocator) request(req *yarnpb.AllocateRequest) {
	hosts := a.withRacks(a.hostAsksNow())
	hostsChanged := len(hosts) != len(a.hostAsks)
	for h, n := range hosts {
		if a.hostAsks[h] != n {
			hostsChanged = true
		}
	}
	if want := a.pending(); want != a.lastAsk || hostsChanged {
		ask := &yarnpb.ResourceRequest{
			Priority:      &yarnpb.Priority{Priority: proto.Int32(a.priority)},
			ResourceName:  proto.String("*"),
			Capability:    a.capability,
			NumContainers: proto.Int32(int32(want)),
			RelaxLocality: proto.Bool(true),
		}
		if a.label != "" {
			// YARN reads the label of the "*" ask for every ask of the priority.
			ask.NodeLabelExpression = proto.String(a.label)
		}
		req.Ask = append(req.Ask, ask)
		a.lastAsk = want
	}
	if hostsChanged {
		names := make([]string, 0, len(hosts)+len(a.hostAsks))
		for h := range a.hostAsks {
			if _, still := hosts[h]; !still {
				names = append(names, h)
			}
		}
		for h := range hosts {
			names = append(names, h)
		}
		sort.Strings(names)
		for _, h := range names {
			req.Ask = append(req.Ask, &yarnpb.ResourceRequest{
				Priority:      &yarnpb.Priority{Priority: proto.Int32(a.priority)},
				ResourceName:  proto.String(h),
				Capability:    a.capability,
				NumContainers: proto.Int32(int32(hosts[h])),
				RelaxLocality: proto.Bool(true),
			})
		}
		a.hostAsks = hosts
	}
	req.Release, a.release = a.release, nil
	if len(a.blAdd) > 0 || len(a.blRemove) > 0 {
		req.BlacklistRequest = &yarnpb.ResourceBlacklistRequest{BlacklistAdditions: a.blAdd, BlacklistRemovals: a.blRemove}
		a.blAdd, a.blRemove = nil, nil
	}
}

// unsent takes back a request the RM never answered: its releases and
// blacklist changes go out again with the next request, and so does the ask.
func (a *allocator) unsent(req *yarnpb.AllocateRequest) {
	a.release = append(req.Release, a.release...)
	a.lastAsk, a.hostAsks = -1, nil
	if br := req.GetBlacklistRequest(); br != nil {
		a.blAdd = append(br.BlacklistAdditions, a.blAdd...)
		a.blRemove = append(br.BlacklistRemovals, a.blRemove...)
	}
}

// resync prepares a full re-send after the RM lost the AM's state (RM restart or failover):
// the whole ask and the whole blacklist go out with the next request.
func (a *allocator) resync() {
	a.lastAsk, a.hostAsks = -1, nil
	a.blAdd, a.blRemove = nil, nil
	for n := range a.blacklist {
		a.blAdd = append(a.blAdd, n)
	}
	sort.Strings(a.blAdd)
}

// allocated takes the RM's new containers: those still wanted get executor ids and are
// returned for launch, surplus ones are released.
func (a *allocator) allocated(cs []*yarnpb.Container) []*execContainer {
	var launch []*execContainer
	for _, c := range cs {
		id := ContainerIDString(c.GetId())
		if len(a.live) >= a.target || a.blacklist[c.GetNodeId().GetHost()] {
			a.release = append(a.release, c.GetId())
			a.stopping[id] = true
			continue
		}
		a.nextExec++
		ec := &execContainer{ExecID: strconv.Itoa(a.nextExec), Container: c}
		a.live[id] = ec
		launch = append(launch, ec)
	}
	// The RM lowered its outstanding count by what it allocated; keep our view in step so
	// an unchanged need is not re-sent.
	if a.lastAsk >= 0 {
		a.lastAsk -= len(cs)
		if a.lastAsk < 0 {
			a.lastAsk = 0
		}
	}
	// The RM lowered its node-level counts too, by rules of its own (the
	// locality it allocated at): send them all again.
	if len(cs) > 0 && len(a.hostAsks) > 0 {
		a.hostAsks = map[string]int{}
		for h := range a.hints.Hosts {
			a.hostAsks[h] = -1
		}
	}
	return launch
}

// started records that the NodeManager started the container.
func (a *allocator) started(containerID string) {
	if ec := a.live[containerID]; ec != nil {
		ec.Running = true
	}
}

// stop marks a live container as stopped on purpose (executor no longer wanted), so its
// completion is not a failure.
func (a *allocator) stop(containerID string) {
	a.stopping[containerID] = true
}

// completed takes a finished container and says what the driver should hear. Containers the
// AM stopped and preempted ones are not failures; every other exit is, and repeated failures
// on one node blacklist it (unless that would leave no node).
func (a *allocator) completed(st *yarnpb.ContainerStatus) (exitEvent, bool) {
	id := ContainerIDString(st.GetContainerId())
	ec := a.live[id]
	ours := a.stopping[id]
	delete(a.stopping, id)
	if ec == nil {
		return exitEvent{}, false
	}
	delete(a.live, id)
	ev := exitEvent{ExecID: ec.ExecID, Host: ec.Host(), Exit: st.GetExitStatus(), Reason: exitReason(id, ec.Host(), st)}
	switch {
	case ours, st.GetExitStatus() == exitPreempted, st.GetExitStatus() == exitKilledAfterAppFinish:
	default:
		ev.Failure = true
		a.failures++
		a.perNode[ev.Host]++
		if a.maxPerNode > 0 && a.perNode[ev.Host] >= a.maxPerNode && !a.blacklist[ev.Host] && (a.nodes == 0 || len(a.blacklist)+1 < a.nodes) {
			a.blacklist[ev.Host] = true
			a.blAdd = append(a.blAdd, ev.Host)
		}
	}
	return ev, true
}

// launchFailed records that the NodeManager refused to start a container.
func (a *allocator) launchFailed(containerID, why string) (exitEvent, bool) {
	return a.completed(&yarnpb.ContainerStatus{
		ContainerId: a.live[containerID].Container.GetId(), ExitStatus: proto.Int32(exitInvalid),
		Diagnostics: proto.String("the NodeManager did not start it: " + why),
	})
}

// failed says whether executor failures exceeded the limit.
func (a *allocator) failed() bool { return a.maxFailures >= 0 && a.failures > a.maxFailures }

// exitReason words a container's end for users.
func exitReason(id, host string, st *yarnpb.ContainerStatus) string {
	code := st.GetExitStatus()
	var what string
	switch code {
	case exitSuccess:
		what = "exited normally"
	case exitAborted:
		what = "was released or aborted by YARN"
	case exitDisksFailed:
		what = "failed because the node's disks failed"
	case exitPreempted:
		what = "was preempted by the YARN scheduler"
	case exitKilledExceededVMem:
		what = "was killed for exceeding its virtual memory limit (raise stoke.executor.memoryOverhead)"
	case exitKilledExceededPMem:
		what = "was killed for exceeding its physical memory limit (raise stoke.executor.memoryOverhead)"
	case exitKilledByAppMaster:
		what = "was killed by the application master"
	case exitKilledByRM:
		what = "was killed by the ResourceManager"
	case exitKilledAfterAppFinish:
		what = "was killed after the application finished"
	case exitInvalid:
		what = "never ran"
	case 137, 143:
		what = fmt.Sprintf("was killed by signal %d (exit code %d)", code-128, code)
	default:
		what = fmt.Sprintf("exited with code %d", code)
	}
	r := fmt.Sprintf("YARN container %s on %s %s", id, host, what)
	if d := st.GetDiagnostics(); d != "" && d != "N/A" {
		r += ": " + truncate(d, 400)
	}
	return r
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

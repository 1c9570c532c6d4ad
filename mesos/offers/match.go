package offers

import (
	"fmt"
	"hash/fnv"
	"math"
	"sort"
)

// eps absorbs float rounding; Mesos itself keeps three decimals.
const eps = 1e-6

// Match answers every offer exactly once, in the order given. Usable offers
// are visited in an order spread by st.Seed and filled round-robin, one
// executor (or one task slot) per offer per pass, so launches spread over
// agents; offers that got nothing are declined, with cfg.RejectRefuse when
// they can never be used and cfg.Refuse otherwise. Offers are never held.
func Match(cfg Config, st State, offers []Offer) []Decision {
	ds := make([]Decision, len(offers))
	var usable []int
	for i, o := range offers {
		ds[i] = Decision{OfferID: o.ID, AgentID: o.AgentID}
		if reason := never(cfg, st, o); reason != "" {
			ds[i].Refuse, ds[i].Reason = cfg.RejectRefuse, reason
			continue
		}
		usable = append(usable, i)
	}
	spread(usable, offers, st.Seed)

	m := matcher{cfg: cfg, held: st.CPUsHeld, left: make(map[int][]float64, len(usable))}
	for _, i := range usable {
		m.left[i] = available(cfg.Role, offers[i].Resources)
	}
	switch cfg.Mode {
	case Fine:
		m.fine(st, offers, usable, ds)
	default:
		m.coarse(st, offers, usable, ds)
	}
	for _, i := range usable {
		d := &ds[i]
		if len(d.Launches) > 0 {
			d.Accept, d.Reason = true, fmt.Sprintf("%d launch(es)", len(d.Launches))
			for j := range d.Launches {
				d.Launches[j].Uses = mergeUses(d.Launches[j].Uses)
			}
			continue
		}
		if m.capReached() {
			d.Refuse, d.Reason = cfg.RejectRefuse, fmt.Sprintf("stoke.cores.max (%g) reached", m.coresMax())
			continue
		}
		d.Refuse, d.Reason = cfg.Refuse, "nothing to launch on it now"
	}
	return ds
}

// never says why an offer can never be used, or "".
func never(cfg Config, st State, o Offer) string {
	if st.Stopping {
		return "the application is stopping"
	}
	if cfg.MaxAgentFailures > 0 && st.AgentFailures[o.AgentID] >= cfg.MaxAgentFailures {
		return fmt.Sprintf("agent %s is excluded after %d failed executors", o.AgentID, st.AgentFailures[o.AgentID])
	}
	if ok, attr := cfg.Constraints.Match(o.Attributes); !ok {
		return fmt.Sprintf("attribute %q does not meet stoke.mesos.constraints %q", attr, cfg.Constraints.String())
	}
	return ""
}

// spread orders idx by a hash of the seed and each offer's id.
func spread(idx []int, offers []Offer, seed uint64) {
	key := func(i int) uint64 {
		h := fnv.New64a()
		var b [8]byte
		for k := range b {
			b[k] = byte(seed >> (8 * k))
		}
		h.Write(b[:])
		h.Write([]byte(offers[i].ID))
		return h.Sum64()
	}
	sort.SliceStable(idx, func(a, b int) bool {
		ka, kb := key(idx[a]), key(idx[b])
		if ka != kb {
			return ka < kb
		}
		return idx[a] < idx[b]
	})
}

// available is what the framework may use of each resource: scalar cpus
// and mem of its role or unreserved; everything else counts as zero.
func available(role string, rs []Resource) []float64 {
	left := make([]float64, len(rs))
	for i, r := range rs {
		if r.Kind != Scalar || (r.Name != "cpus" && r.Name != "mem") {
			continue
		}
		if r.Role != "*" && r.Role != "" && r.Role != role {
			continue
		}
		if r.Scalar > 0 && !math.IsInf(r.Scalar, 0) && !math.IsNaN(r.Scalar) {
			left[i] = r.Scalar
		}
	}
	return left
}

type matcher struct {
	cfg  Config
	held float64
	left map[int][]float64
	// unit is the smallest CPU amount the next launch needs, to tell a
	// reached cap from an offer that is merely too small.
	unit float64
}

func (m *matcher) coresMax() float64 {
	c := m.cfg.CoresMax
	if c > 0 && m.cfg.Mode == Coarse && m.cfg.ExecutorCPUs > 0 {
		c = math.Floor(c/m.cfg.ExecutorCPUs+eps) * m.cfg.ExecutorCPUs
	}
	return c
}

func (m *matcher) capReached() bool {
	return m.cfg.CoresMax > 0 && m.held+m.unit > m.coresMax()+eps
}

// fits reports whether cpus more stay within the cap.
// A cap below one executor (rounded down to 0) allows none.
func (m *matcher) fits(cpus float64) bool {
	return m.cfg.CoresMax <= 0 || m.held+cpus <= m.coresMax()+eps
}

func (m *matcher) total(rs []Resource, left []float64, name string) float64 {
	t := 0.0
	for i, r := range rs {
		if r.Name == name {
			t += left[i]
		}
	}
	return t
}

// take carves amount of name from left, reserved resources first.
func (m *matcher) take(rs []Resource, left []float64, name string, amount float64) []Use {
	var uses []Use
	for pass := 0; pass < 2 && amount > eps; pass++ {
		for i, r := range rs {
			if r.Name != name || left[i] <= eps || (pass == 0) == (r.Role == "*" || r.Role == "") {
				continue
			}
			n := math.Min(left[i], amount)
			left[i] -= n
			amount -= n
			uses = append(uses, Use{Index: i, Amount: n})
			if amount <= eps {
				break
			}
		}
	}
	return uses
}

// carve takes cpus and mem from offer i if it has both.
func (m *matcher) carve(rs []Resource, i int, cpus, mem float64) ([]Use, bool) {
	left := m.left[i]
	if m.total(rs, left, "cpus")+eps < cpus || m.total(rs, left, "mem")+eps < mem {
		return nil, false
	}
	uses := m.take(rs, left, "cpus", cpus)
	if mem > 0 {
		uses = append(uses, m.take(rs, left, "mem", mem)...)
	}
	m.held += cpus
	return uses, true
}

func (m *matcher) coarse(st State, offers []Offer, usable []int, ds []Decision) {
	cpus, mem := m.cfg.ExecutorCPUs, m.cfg.ExecutorMemMB
	m.unit = cpus
	if cpus <= 0 {
		return
	}
	execs := st.Executors
	for launched := true; launched; {
		launched = false
		for _, i := range usable {
			if st.ExecutorLimit >= 0 && execs >= st.ExecutorLimit {
				return
			}
			if !m.fits(cpus) {
				return
			}
			uses, ok := m.carve(offers[i].Resources, i, cpus, mem)
			if !ok {
				continue
			}
			ds[i].Launches = append(ds[i].Launches, Launch{CPUs: cpus, MemMB: mem, Uses: uses})
			execs++
			launched = true
		}
	}
}

// fine places, first, one executor on each agent that has none (while the
// executor limit allows), sized to its overhead and only where the offer
// leaves room for at least one task slot beside it; then the Stoke tasks
// queued on agents whose executor already runs, one Launch of TaskCPUs per
// task, round-robin over the offers. A new executor and its agent's tasks
// never share an offer: the driver assigns tasks only to registered
// executors.
func (m *matcher) fine(st State, offers []Offer, usable []int, ds []Decision) {
	task := m.cfg.TaskCPUs
	m.unit = task
	if task <= 0 {
		return
	}
	execs := st.Executors
	fresh := map[string]bool{}
	for _, i := range usable {
		agent := offers[i].AgentID
		if st.ExecutorOn[agent] || fresh[agent] || (st.ExecutorLimit >= 0 && execs >= st.ExecutorLimit) {
			continue
		}
		rs, left := offers[i].Resources, m.left[i]
		over, mem := m.cfg.MesosExecutorCPUs, m.cfg.ExecutorMemMB
		room := int(math.Floor((m.total(rs, left, "cpus")-over)/task + eps))
		if m.cfg.CoresMax > 0 {
			room = min(room, int(math.Floor((m.cfg.CoresMax-m.held-over)/task+eps)))
		}
		if room < 1 || m.total(rs, left, "mem")+eps < mem {
			continue
		}
		slots := room
		if m.cfg.FineSlots > 0 {
			slots = m.cfg.FineSlots
		}
		uses, ok := m.carve(rs, i, over, mem)
		if !ok {
			continue
		}
		ds[i].Launches = append(ds[i].Launches, Launch{NewExecutor: true, CPUs: over, MemMB: mem, Uses: uses, Slots: slots})
		fresh[agent] = true
		execs++
	}
	queued := map[string]int{}
	for a, n := range st.Queued {
		if st.ExecutorOn[a] {
			queued[a] = n
		}
	}
	for launched := true; launched; {
		launched = false
		for _, i := range usable {
			agent := offers[i].AgentID
			if queued[agent] <= 0 || !m.fits(task) {
				continue
			}
			uses, ok := m.carve(offers[i].Resources, i, task, 0)
			if !ok {
				continue
			}
			ds[i].Launches = append(ds[i].Launches, Launch{CPUs: task, Uses: uses, Tasks: 1})
			queued[agent]--
			launched = true
		}
	}
}

// mergeUses adds up uses of the same resource, in index order.
func mergeUses(us []Use) []Use {
	sum := map[int]float64{}
	for _, u := range us {
		sum[u.Index] += u.Amount
	}
	out := make([]Use, 0, len(sum))
	for i, a := range sum {
		out = append(out, Use{Index: i, Amount: a})
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Index < out[b].Index })
	return out
}

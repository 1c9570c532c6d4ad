package ui

import (
	"fmt"
	"html/template"
	"net/http"
	"sort"

	"github.com/stoke-run/stoke/internal/events"
)

// Bounds on what the Storage page keeps, so that a hostile or runaway event
// stream cannot grow the store without limit.
const (
	maxCachedRDDs   = 1000
	maxCachedBlocks = 100000
)

// RDDInfo is one persisted dataset on the Storage page and in
// /api/v1/applications/<id>/storage/rdd.
type RDDInfo struct {
	ID                  int    `json:"id"`
	Name                string `json:"name"`
	StorageLevel        string `json:"storageLevel"`
	NumPartitions       int    `json:"numPartitions"`
	NumCachedPartitions int    `json:"numCachedPartitions"`
	MemoryUsed          int64  `json:"memoryUsed"`
	DiskUsed            int64  `json:"diskUsed"`
}

type blockKey struct {
	partition int
	exec      string
}

type blockSize struct{ mem, disk int64 }

type rddState struct {
	info   RDDInfo
	blocks map[blockKey]blockSize
}

// storage is the Store's view of cached datasets; guarded by Store.mu.
type storage struct {
	rdds   map[int]*rddState
	blocks int // in all rdds
}

func (st *storage) persisted(e events.RDDPersisted) {
	if st.rdds == nil {
		st.rdds = map[int]*rddState{}
	}
	if _, ok := st.rdds[e.RDDID]; ok || len(st.rdds) >= maxCachedRDDs {
		return
	}
	st.rdds[e.RDDID] = &rddState{
		info:   RDDInfo{ID: e.RDDID, Name: e.Name, StorageLevel: e.Level, NumPartitions: e.NumPartitions},
		blocks: map[blockKey]blockSize{},
	}
}

func (st *storage) unpersisted(id int) {
	if r := st.rdds[id]; r != nil {
		st.blocks -= len(r.blocks)
		delete(st.rdds, id)
	}
}

func (st *storage) blockUpdated(e events.BlockUpdated) {
	r := st.rdds[e.RDDID]
	if r == nil {
		return
	}
	k := blockKey{e.Partition, e.ExecutorID}
	_, had := r.blocks[k]
	if e.MemSize <= 0 && e.DiskSize <= 0 {
		if had {
			delete(r.blocks, k)
			st.blocks--
		}
		return
	}
	if !had {
		if st.blocks >= maxCachedBlocks {
			return
		}
		st.blocks++
	}
	r.blocks[k] = blockSize{max(e.MemSize, 0), max(e.DiskSize, 0)}
}

// executorRemoved drops the blocks of a lost executor.
func (st *storage) executorRemoved(id string) {
	for _, r := range st.rdds {
		for k := range r.blocks {
			if k.exec == id {
				delete(r.blocks, k)
				st.blocks--
			}
		}
	}
}

func (st *storage) list() []RDDInfo {
	out := make([]RDDInfo, 0, len(st.rdds))
	for _, r := range st.rdds {
		info := r.info
		parts := map[int]bool{}
		for k, b := range r.blocks {
			parts[k.partition] = true
			info.MemoryUsed += b.mem
			info.DiskUsed += b.disk
		}
		info.NumCachedPartitions = len(parts)
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Storage lists the persisted datasets, by id.
func (s *Store) Storage() []RDDInfo {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.storage.list()
}

func (s *Server) storagePage(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "storage", struct {
		page
		RDDs []RDDInfo
	}{s.base(r, "Storage"), s.store.Storage()})
}

func (s *Server) apiStorage(*http.Request) (any, error) { return s.store.Storage(), nil }

func init() {
	template.Must(pages.Funcs(template.FuncMap{"bytes": humanBytes}).Parse(storageTmpl))
}

const storageTmpl = `{{define "storage"}}{{template "top" .}}
<table><tr><th>ID</th><th>Dataset</th><th>Storage level</th><th>Cached partitions</th><th>Fraction cached</th><th>Size in memory</th><th>Size on disk</th></tr>
{{range .RDDs}}<tr><td>{{.ID}}</td><td>{{.Name}}</td><td>{{.StorageLevel}}</td><td>{{.NumCachedPartitions}}/{{.NumPartitions}}</td><td>{{pct .NumCachedPartitions .NumPartitions}}%</td><td>{{bytes .MemoryUsed}}</td><td>{{bytes .DiskUsed}}</td></tr>
{{else}}<tr><td colspan="7">no cached datasets</td></tr>{{end}}</table>
{{template "bottom"}}{{end}}`

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}

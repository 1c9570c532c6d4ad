package ui

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stoke-run/stoke/internal/events"
)

func storageEvents() []events.Event {
	return []events.Event{
		events.ApplicationStart{AppID: "app-1", AppName: "cache", Time: at(0)},
		events.ExecutorAdded{ExecutorID: "1", Host: "h1", Cores: 2, Time: at(1)},
		events.ExecutorAdded{ExecutorID: "2", Host: "h2", Cores: 2, Time: at(1)},
		events.RDDPersisted{RDDID: 7, Name: "map <double>", Level: "MEMORY_AND_DISK", NumPartitions: 4},
		events.RDDPersisted{RDDID: 9, Name: "filter odd", Level: "MEMORY_ONLY", NumPartitions: 2},
		events.BlockUpdated{ExecutorID: "1", RDDID: 7, Partition: 0, MemSize: 1000},
		events.BlockUpdated{ExecutorID: "1", RDDID: 7, Partition: 1, MemSize: 2000},
		events.BlockUpdated{ExecutorID: "2", RDDID: 7, Partition: 2, MemSize: 3 << 20},
		// Partition 1 evicted to disk.
		events.BlockUpdated{ExecutorID: "1", RDDID: 7, Partition: 1, DiskSize: 2016},
		events.BlockUpdated{ExecutorID: "2", RDDID: 9, Partition: 0, MemSize: 10},
		// Dropped, and a block of a dataset never persisted: both ignored.
		events.BlockUpdated{ExecutorID: "2", RDDID: 9, Partition: 0},
		events.BlockUpdated{ExecutorID: "2", RDDID: 99, Partition: 0, MemSize: 5},
	}
}

func TestStorageFollowsBlockUpdates(t *testing.T) {
	s := NewStore()
	apply(s, storageEvents())
	got := s.Storage()
	if len(got) != 2 {
		t.Fatalf("storage lists %d datasets, want 2: %+v", len(got), got)
	}
	want := RDDInfo{ID: 7, Name: "map <double>", StorageLevel: "MEMORY_AND_DISK", NumPartitions: 4, NumCachedPartitions: 3, MemoryUsed: 1000 + 3<<20, DiskUsed: 2016}
	if got[0] != want {
		t.Fatalf("rdd 7: %+v, want %+v", got[0], want)
	}
	if got[1].NumCachedPartitions != 0 || got[1].MemoryUsed != 0 {
		t.Fatalf("rdd 9 after its only block was dropped: %+v", got[1])
	}
	// Executor 2 is lost: its partition goes.
	s.Apply(events.ExecutorRemoved{ExecutorID: "2", Reason: "lost", Time: at(2)})
	if r := s.Storage()[0]; r.NumCachedPartitions != 2 || r.MemoryUsed != 1000 {
		t.Fatalf("rdd 7 after executor 2 was lost: %+v", r)
	}
	s.Apply(events.RDDUnpersisted{RDDID: 7})
	if got := s.Storage(); len(got) != 1 || got[0].ID != 9 {
		t.Fatalf("after unpersisting 7: %+v", got)
	}
	if s.storage.blocks != 0 {
		t.Fatalf("block count %d after every block went", s.storage.blocks)
	}
}

func TestStorageBoundsHostileEvents(t *testing.T) {
	s := NewStore()
	for i := range maxCachedRDDs + 10 {
		s.Apply(events.RDDPersisted{RDDID: i, Name: "x", NumPartitions: 1 << 30})
	}
	if n := len(s.Storage()); n != maxCachedRDDs {
		t.Fatalf("%d datasets kept, want the bound %d", n, maxCachedRDDs)
	}
	for p := range maxCachedBlocks + 10 {
		s.Apply(events.BlockUpdated{ExecutorID: "1", RDDID: 0, Partition: p, MemSize: 1})
	}
	if s.storage.blocks != maxCachedBlocks {
		t.Fatalf("%d blocks kept, want the bound %d", s.storage.blocks, maxCachedBlocks)
	}
	s.Apply(events.RDDUnpersisted{RDDID: 0})
	// Negative sizes are not counted.
	s.Apply(events.BlockUpdated{ExecutorID: "1", RDDID: 1, Partition: 0, MemSize: -5, DiskSize: 3})
	if r := s.Storage()[0]; r.MemoryUsed != 0 || r.DiskUsed != 3 {
		t.Fatalf("negative size counted: %+v", r)
	}
}

func TestStoragePageAndJSON(t *testing.T) {
	s := NewStore()
	apply(s, storageEvents())
	u := startServer(t, s).URL()

	code, _, body := get(t, u+"/storage/")
	if code != http.StatusOK {
		t.Fatalf("/storage/: %d %s", code, body)
	}
	for _, want := range []string{"map &lt;double&gt;", "MEMORY_AND_DISK", "3/4", "75%", "3.0 MiB", "2.0 KiB", "filter odd", `href="storage/"`} {
		if !strings.Contains(body, want) {
			t.Errorf("/storage/ lacks %q:\n%s", want, body)
		}
	}

	code, h, body := get(t, u+"/api/v1/applications/app-1/storage/rdd")
	if code != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		t.Fatalf("storage/rdd: %d %s: %s", code, h.Get("Content-Type"), body)
	}
	var rdds []map[string]any
	if err := json.Unmarshal([]byte(body), &rdds); err != nil {
		t.Fatalf("storage/rdd is not a JSON list: %v\n%s", err, body)
	}
	if len(rdds) != 2 || rdds[0]["id"] != 7.0 || rdds[0]["storageLevel"] != "MEMORY_AND_DISK" ||
		rdds[0]["numCachedPartitions"] != 3.0 || rdds[0]["memoryUsed"] != float64(1000+3<<20) || rdds[0]["diskUsed"] != 2016.0 {
		t.Fatalf("storage/rdd: %s", body)
	}
	if code, _, body := get(t, u+"/api/v1/applications/other/storage/rdd"); code != http.StatusNotFound {
		t.Fatalf("unknown application: %d %s", code, body)
	}
	// Read only: nothing but GET (and HEAD) is served.
	for _, path := range []string{"/storage/", "/api/v1/applications/app-1/storage/rdd"} {
		resp, err := http.Post(u+path, "application/json", strings.NewReader(`{"unpersist":7}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("POST %s: %d, want 405", path, resp.StatusCode)
		}
	}
}

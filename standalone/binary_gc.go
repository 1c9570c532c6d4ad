package standalone

import (
	"os"
	"path/filepath"
	"time"
)

// binaryGrace is how long an uploaded binary no driver refers to is kept:
// a client uploads first and submits after, and a standby's copy must
// outlive a failover.
const binaryGrace = time.Hour

// binaryGCEvery spaces the leader's sweeps of the binary store.
const binaryGCEvery = 10 * time.Minute

// unreferencedBinaries picks the stored binaries (name -> modification
// time) that no driver refers to and that are older than grace.
func unreferencedBinaries(stored map[string]time.Time, referenced map[string]bool, now time.Time, grace time.Duration) []string {
	var out []string
	for name, mod := range stored {
		if !referenced[name] && now.Sub(mod) > grace {
			out = append(out, name)
		}
	}
	return out
}

// gc removes uploaded binaries no driver refers to; it returns what it
// removed.
func (s *binaryStore) gc(referenced map[string]bool, now time.Time, grace time.Duration) []string {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil
	}
	stored := map[string]time.Time{}
	for _, e := range ents {
		// Only finished uploads: a temporary file may still be written.
		if info, err := e.Info(); err == nil && e.Type().IsRegular() && sha256Hex.MatchString(e.Name()) {
			stored[e.Name()] = info.ModTime()
		}
	}
	var removed []string
	for _, name := range unreferencedBinaries(stored, referenced, now, grace) {
		if os.Remove(filepath.Join(s.dir, name)) == nil {
			removed = append(removed, name)
		}
	}
	return removed
}

// collectBinaries removes, on the leader, uploaded binaries that no
// driver it knows refers to. Called with m.mu held.
func (m *Master) collectBinaries(now time.Time) {
	if !m.leader || m.recovering || m.binaries == nil || now.Sub(m.lastBinaryGC) < binaryGCEvery {
		return
	}
	m.lastBinaryGC = now
	referenced := map[string]bool{}
	for _, d := range m.drivers {
		referenced[d.sub.SHA256] = true
	}
	for _, name := range m.binaries.gc(referenced, time.Now(), binaryGrace) {
		m.log.Infof("removed uploaded binary %s: no driver refers to it", name)
	}
}

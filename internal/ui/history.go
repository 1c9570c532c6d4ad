package ui

import (
	"fmt"
	"io"

	"github.com/stoke-run/stoke/internal/eventlog"
	"github.com/stoke-run/stoke/internal/events"
	"github.com/stoke-run/stoke/internal/fsx"
)

// ServeHistory replays the event log at path (a local path or hdfs://,
// plain, zstd-compressed or a rolling log's directory) into a new Store, so the UI of a finished
// application can be served again (pass the Store to Start).
//
// A log that ends early (a last line cut short, a truncated or corrupt
// compressed stream: the driver crashed while writing it) still yields the
// Store built from every earlier event, marked Incomplete, together with an
// error for which eventlog.Partial is true; any other damage returns a nil
// Store and the error.
func ServeHistory(path string) (*Store, error) {
	fs, err := fsx.For(path)
	if err != nil {
		return nil, fmt.Errorf("ui: opening the event log: %w", err)
	}
	text, err := eventlog.Open(fs, path)
	if err != nil {
		return nil, fmt.Errorf("ui: opening the event log: %w", err)
	}
	defer text.Close()
	return replay(text, path)
}

// ReplayLog is ServeHistory for a log being read from r; name is the log's
// file name (its suffix tells whether it is compressed).
func ReplayLog(r io.Reader, name string) (*Store, error) {
	text, err := eventlog.NewReader(r, name)
	if err != nil {
		return nil, fmt.Errorf("ui: replaying %s: %w", name, err)
	}
	defer text.Close()
	return replay(text, name)
}

// replay builds a Store from the text of a log.
func replay(text io.Reader, name string) (*Store, error) {
	s := NewStore()
	_, err := eventlog.ReadStats(text, func(e events.Event) error {
		s.Apply(e)
		return nil
	})
	if err != nil {
		if eventlog.Partial(err) {
			s.mu.Lock()
			s.app.Incomplete = true
			s.mu.Unlock()
			return s, fmt.Errorf("ui: replaying %s: %w", name, err)
		}
		return nil, fmt.Errorf("ui: replaying %s: %w", name, err)
	}
	return s, nil
}

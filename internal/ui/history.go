package ui

import (
	"errors"
	"fmt"
	"os"

	"github.com/stoke-run/stoke/internal/eventlog"
	"github.com/stoke-run/stoke/internal/events"
)

// ServeHistory replays the event log at path into a new Store, so the UI of
// a finished application can be served again (pass the Store to Start).
//
// A log whose last line was cut short (the driver crashed while writing it)
// still yields the Store built from every earlier event, marked Incomplete,
// together with an error wrapping eventlog.ErrTruncated; any other damage
// returns a nil Store and the error.
func ServeHistory(path string) (*Store, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("ui: opening the event log: %w", err)
	}
	defer f.Close()
	s := NewStore()
	_, err = eventlog.ReadStats(f, func(e events.Event) error {
		s.Apply(e)
		return nil
	})
	if err != nil {
		if errors.Is(err, eventlog.ErrTruncated) {
			s.mu.Lock()
			s.app.Incomplete = true
			s.mu.Unlock()
			return s, fmt.Errorf("ui: replaying %s: %w", path, err)
		}
		return nil, fmt.Errorf("ui: replaying %s: %w", path, err)
	}
	return s, nil
}

package driver

import (
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// Exit codes of a driver ended by a signal, as a shell reports them.
const (
	ExitSIGINT  = 130
	ExitSIGTERM = 143
)

// Interrupt ends the application because of a signal and exits the
// process: the running jobs are cancelled (their callers stay blocked, so
// that the program cannot exit before the event log is closed), the end
// event is written with the reason, the event log closed, then the process
// exits with code.
func (c *Context) Interrupt(reason string, code int) {
	c.interrupted.Store(true)
	if err := c.StopBecause(reason); err != nil {
		c.log.WithError(err).Warn("stoke: stopping the application after a signal")
	}
	exit(code)
}

// duplicateWindow: the same signal again this soon after the first is taken
// for a copy of it, not for a second signal.
var duplicateWindow = time.Second

// exit is os.Exit (a variable for tests of this package).
var (
	exit   = os.Exit
	osExit = os.Exit
)

// holdIfInterrupted keeps a job's caller from returning while a signal
// stops the application: Interrupt exits the process once the event log is
// closed.
func (c *Context) holdIfInterrupted() {
	if c.interrupted.Load() {
		select {}
	}
}

// HandleSignals makes the first SIGINT or SIGTERM end the application
// cleanly (Interrupt, exit code 130 or 143) and a second one exit at once
// (the same signal within duplicateWindow of the first is ignored: a
// terminal's Ctrl-C reaches a driver run by `stoke submit` twice).
// The returned function stops handling (call it before Stop).
func (c *Context) HandleSignals() (stop func()) {
	ch := make(chan os.Signal, 2)
	window := duplicateWindow
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		var s os.Signal
		select {
		case <-done:
			return
		case s = <-ch:
		}
		name, code := "SIGTERM", ExitSIGTERM
		if s == syscall.SIGINT {
			name, code = "SIGINT", ExitSIGINT
		}
		c.log.Warnf("stoke: %s: cancelling the running jobs and ending the application (send it again to exit at once)", name)
		first := time.Now()
		go func() {
			for s2 := range ch {
				if s2 == s && time.Since(first) < window {
					// The same Ctrl-C twice: from the terminal and forwarded
					// by `stoke submit` (the driver is in its process group).
					continue
				}
				code := ExitSIGTERM
				if s2 == syscall.SIGINT {
					code = ExitSIGINT
				}
				c.log.Warnf("stoke: second signal (%v): exiting now, the event log is left incomplete", s2)
				exit(code)
			}
		}()
		c.Interrupt("interrupted by "+name, code)
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			signal.Stop(ch)
			close(done)
		})
	}
}

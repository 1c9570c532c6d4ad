package mesos_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/stoke-run/stoke"
	"github.com/stoke-run/stoke/internal/testutil"
	"github.com/stoke-run/stoke/mesos"
	"github.com/stoke-run/stoke/mesos/mesostest"
)

func bufferLogger() (*logrus.Logger, *testutil.SyncBuffer) {
	buf := &testutil.SyncBuffer{}
	log := logrus.New()
	log.SetOutput(buf)
	log.SetLevel(logrus.InfoLevel)
	return log, buf
}

// Fine-grained mode on a master that checks what the real one checks: the
// per-agent executor is CUSTOM and holds its memory overhead (Mesos warns
// about executors below 32 MB), the holder task the executor's memory, and
// the master shows the framework linked to the driver's UI.
func TestFineExecutorHoldsOverheadAndLinksUI(t *testing.T) {
	if testing.Short() {
		t.Skip("starts executor processes")
	}
	c := mesostest.Start(t, mesostest.Options{AllocationInterval: 100 * time.Millisecond, Agents: []mesostest.AgentSpec{{CPUs: 3, MemMB: 2048}}})
	sc, err := stoke.New(stoke.Config{
		"stoke.master":                        c.Leader().MesosURL(),
		"stoke.ui.port":                       "0",
		"stoke.mesos.coarse":                  "false",
		"stoke.executor.memory":               "256m",
		"stoke.mesos.executor.memoryOverhead": "64m",
		"stoke.executor.instances":            "1",
		"stoke.mesos.declineOfferDuration":    "1s",
		"stoke.driver.allowMultipleContexts":  "true",
		"stoke.mesos.registrationTimeout":     "60s",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Stop()
	ds, err := stoke.Parallelize(sc, []int{1, 2, 3, 4}, 4)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := stoke.Count(context.Background(), ds); err != nil || n != 4 {
		t.Fatalf("count = %d, %v", n, err)
	}
	fw := sc.Backend().(*mesos.Backend).FrameworkID()
	holder, ok := c.Task(fw, "0")
	if !ok || holder.MemMB != 256 {
		t.Fatalf("holder task: %+v (ok %v), want the executor's 256 MB", holder, ok)
	}
	agent := c.Agents()[0].ID()
	// The executor's own 64 MB and 1 CPU, plus the holder's 256 MB.
	mesostest.Eventually(t, 10*time.Second, "the idle framework holds the executor's overhead and the holder", func() bool {
		u := c.Used(fw, agent)
		return u.CPUs == 1 && u.MemMB == 256+64
	})
	if w := c.Warnings(); len(w) != 0 {
		t.Fatalf("the master warned: %q", w)
	}
	state := getJSON(t, c.Leader().URL()+"/master/frameworks")
	view := state["frameworks"].([]any)[0].(map[string]any)
	ui := view["webui_url"].(string)
	if ui == "" || !strings.HasSuffix(ui, portOf(t, sc.UIURL())) {
		t.Fatalf("webui_url = %q, driver UI %q", ui, sc.UIURL())
	}
}

func portOf(t *testing.T, u string) string {
	_, port, err := net.SplitHostPort(strings.TrimPrefix(u, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	return ":" + port
}

// Stopping tears the framework down once: the subscription loop sees the
// backend stopping and does not subscribe again when TEARDOWN ends the
// stream (it used to log "subscribing again" after every job).
func TestStopDoesNotResubscribe(t *testing.T) {
	if testing.Short() {
		t.Skip("starts executor processes")
	}
	c := mesostest.Start(t, mesostest.Options{Agents: []mesostest.AgentSpec{{CPUs: 2, MemMB: 2048}}})
	log, buf := bufferLogger()
	sc, err := stoke.New(stoke.Config{"stoke.master": c.Leader().MesosURL(), "stoke.ui.enabled": "false", "stoke.executor.memory": "256m",
		"stoke.driver.allowMultipleContexts": "true"}, stoke.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	fw := sc.Backend().(*mesos.Backend).FrameworkID()
	ds, _ := stoke.Parallelize(sc, []int{1, 2}, 2)
	if _, err := stoke.Count(context.Background(), ds); err != nil {
		t.Fatal(err)
	}
	sc.Stop()
	// Give a wrongly running loop its first backoff (at most 250 ms).
	time.Sleep(testutil.D(500 * time.Millisecond))
	if strings.Contains(buf.String(), "subscribing again") {
		t.Fatalf("the driver subscribed again after Stop:\n%s", buf.String())
	}
	v, ok := c.Framework(fw)
	if !ok || v.Subscribes != 1 || v.Removed == "" {
		t.Fatalf("framework %s: %+v, want one subscription and removed by TEARDOWN", fw, v)
	}
}

// With no master to subscribe to, the driver gives up after
// stoke.mesos.registrationTimeout with the cause, instead of retrying
// forever.
func TestNoMasterFailsAfterRegistrationTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	start := time.Now()
	_, err = stoke.New(stoke.Config{"stoke.master": "mesos://" + addr, "stoke.ui.enabled": "false", "stoke.driver.allowMultipleContexts": "true",
		"stoke.mesos.registrationTimeout": "1s"})
	for _, want := range []string{"no Mesos master at mesos://" + addr, "within 1s (stoke.mesos.registrationTimeout)", "connection refused"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("err = %v, want it to say %q", err, want)
		}
	}
	if took := time.Since(start); took > testutil.D(30*time.Second) {
		t.Fatalf("gave up after %v", took)
	}
	for _, bad := range []string{"soon", "-1s", "0"} {
		_, err = stoke.New(stoke.Config{"stoke.master": "mesos://" + addr, "stoke.mesos.registrationTimeout": bad, "stoke.driver.allowMultipleContexts": "true"})
		if err == nil || !strings.Contains(err.Error(), "stoke.mesos.registrationTimeout") {
			t.Errorf("registrationTimeout %q: err = %v", bad, err)
		}
	}
}

// A job that can never get an executor fails with the cause: every agent
// that offered resources is excluded after stoke.mesos.maxAgentFailures
// failed executors (here a binary that exits at once), in coarse and fine
// mode. It waited forever before.
func TestJobFailsWhenEveryAgentIsExcluded(t *testing.T) {
	if testing.Short() {
		t.Skip("starts executor processes")
	}
	bin := filepath.Join(t.TempDir(), "broken-app")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\necho 'this build is broken' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, coarse := range []bool{true, false} {
		t.Run(fmt.Sprintf("coarse=%v", coarse), func(t *testing.T) {
			c := mesostest.Start(t, mesostest.Options{AllocationInterval: 100 * time.Millisecond, Agents: []mesostest.AgentSpec{{CPUs: 3, MemMB: 2048}}})
			cfg := stoke.Config{"stoke.master": c.Leader().MesosURL(), "stoke.ui.enabled": "false", "stoke.executor.memory": "256m",
				"stoke.mesos.coarse": fmt.Sprint(coarse), "stoke.driver.allowMultipleContexts": "true", "stoke.mesos.declineOfferDuration": "1s"}
			b := newBackend(t, cfg)
			b.Binary = bin
			sc, err := stoke.New(cfg, stoke.WithBackend(b))
			if err != nil {
				t.Fatal(err)
			}
			defer sc.Stop()
			ds, _ := stoke.Parallelize(sc, []int{1, 2, 3}, 3)
			ctx, cancel := context.WithTimeout(context.Background(), testutil.D(60*time.Second))
			defer cancel()
			_, err = stoke.Count(ctx, ds)
			if ctx.Err() != nil {
				t.Fatal("the job still waits for executors that will never come")
			}
			for _, want := range []string{"every Mesos agent that offered resources (1) is excluded after 2 failed executors (stoke.mesos.maxAgentFailures)", "TASK_FAILED"} {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("err = %v, want it to say %q", err, want)
				}
			}
		})
	}
}

func getJSON(t *testing.T, url string) map[string]any {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return v
}

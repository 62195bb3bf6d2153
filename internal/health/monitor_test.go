package health

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

const interval = 10 * time.Second

// harness drives a Monitor on a fake clock and records what it reports.
type harness struct {
	t       *testing.T
	clk     *clocktesting.FakeClock
	mon     *Monitor
	mu      sync.Mutex
	healthy map[string]bool
	changes int
	fail    map[string]bool // scripted probe results; guarded by mu
}

func newHarness(t *testing.T, realProbes bool) *harness {
	h := &harness{t: t, clk: clocktesting.NewFakeClock(time.Unix(0, 0)), healthy: map[string]bool{}, fail: map[string]bool{}}
	opts := MonitorOptions{
		Dial:  netDial,
		Clock: h.clk,
		OnChange: func(name string, healthy bool) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.healthy[name] = healthy
			h.changes++
		},
	}
	if !realProbes {
		opts.RunProbe = func(_ context.Context, p Probe, _ DialFunc) error {
			h.mu.Lock()
			defer h.mu.Unlock()
			if h.fail[p.Address] {
				return errors.New("scripted failure")
			}
			return nil
		}
	}
	h.mon = NewMonitor(opts)
	t.Cleanup(h.mon.Close)
	return h
}

func (h *harness) setFail(addr string, fail bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fail[addr] = fail
}

func (h *harness) isHealthy(name string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.healthy[name]
}

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// tick lets every check loop (n of them) finish its current check, then
// fires their timers so each runs exactly one more check, and waits for it.
func (h *harness) tick(n int) {
	h.t.Helper()
	waitFor(h.t, "check loops to park", func() bool { return h.clk.Waiters() >= n })
	h.clk.Step(interval + interval/2)
	waitFor(h.t, "check loops to park again", func() bool { return h.clk.Waiters() >= n })
}

func (h *harness) state(name string) Status {
	for _, s := range h.mon.Status() {
		if s.Name == name {
			return s
		}
	}
	h.t.Fatalf("no status for %s", name)
	return Status{}
}

func checksOn() Config {
	return Config{Enabled: true, Interval: interval, Timeout: time.Second,
		Thresholds: Thresholds{Healthy: 2, Unhealthy: 2}, Outlier: DefaultOutlier}
}

func TestMonitorActiveChecks(t *testing.T) {
	h := newHarness(t, false)
	h.setFail("b:1", true)
	h.mon.Update(checksOn(), []Target{{Name: "a", Probe: Probe{Address: "a:1"}}, {Name: "b", Probe: Probe{Address: "b:1"}}})
	waitFor(t, "a healthy after its first passing check", func() bool { return h.isHealthy("a") })
	h.tick(2)
	if s := h.state("b"); s.State != Unhealthy || s.Healthy || s.LastError == "" {
		t.Fatalf("b after two failures: %+v", s)
	}
	h.setFail("a:1", true)
	h.tick(2)
	if !h.isHealthy("a") {
		t.Fatal("a unhealthy after one failure, threshold is 2")
	}
	h.tick(2)
	if h.isHealthy("a") {
		t.Fatal("a healthy after two failures")
	}
	h.setFail("b:1", false)
	h.tick(2)
	if h.isHealthy("b") {
		t.Fatal("b healthy after one pass, healthyThreshold is 2")
	}
	h.tick(2)
	if !h.isHealthy("b") {
		t.Fatal("b unhealthy after two passes")
	}
}

func TestMonitorDisabledChecksAndPassiveEjection(t *testing.T) {
	h := newHarness(t, false)
	cfg := Config{Outlier: DefaultOutlier}
	h.mon.Update(cfg, []Target{{Name: "a", Probe: Probe{Address: "a:1"}}})
	if !h.isHealthy("a") {
		t.Fatal("with checks disabled a backend must be healthy at once")
	}
	dialErr := errors.New("connection refused")
	for range 4 {
		h.mon.ReportDial("a", dialErr)
	}
	h.mon.ReportDial("a", nil) // resets
	for range 4 {
		h.mon.ReportDial("a", dialErr)
	}
	if !h.isHealthy("a") {
		t.Fatal("ejected without 5 consecutive failures")
	}
	h.mon.ReportDial("a", dialErr)
	if h.isHealthy("a") || !h.state("a").Ejected {
		t.Fatal("not ejected after 5 consecutive failures")
	}
	h.clk.Step(29 * time.Second)
	if h.isHealthy("a") {
		t.Fatal("back before the 30s ejection time")
	}
	h.clk.Step(time.Second)
	waitFor(t, "a back after its ejection", func() bool { return h.isHealthy("a") })
}

func TestMonitorUpdate(t *testing.T) {
	h := newHarness(t, false)
	h.mon.Update(checksOn(), []Target{{Name: "a", Probe: Probe{Address: "a:1"}}})
	waitFor(t, "a healthy", func() bool { return h.isHealthy("a") })

	// Moving a backend to a new address starts it over as Unknown; the
	// scripted probe fails, so it is reported unhealthy at once.
	h.setFail("a:2", true)
	h.mon.Update(checksOn(), []Target{{Name: "a", Probe: Probe{Address: "a:2"}}})
	if h.isHealthy("a") || h.state("a").State != Unknown {
		t.Fatalf("re-addressed backend: %+v", h.state("a"))
	}
	// Turning checks off makes it healthy; removing it drops its status.
	h.mon.Update(Config{Outlier: DefaultOutlier}, []Target{{Name: "a", Probe: Probe{Address: "a:2"}}})
	if !h.isHealthy("a") {
		t.Fatal("checks disabled: want healthy")
	}
	h.mon.Update(Config{}, nil)
	if len(h.mon.Status()) != 0 {
		t.Fatalf("status after removing all: %+v", h.mon.Status())
	}
}

// TestMonitorRealSocketUpAndDown runs the real TCP probe against a listener
// that goes away and comes back, on the fake clock's schedule.
func TestMonitorRealSocketUpAndDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	h := newHarness(t, true)
	h.mon.Update(checksOn(), []Target{{Name: "a", Probe: Probe{Protocol: TCP, Address: addr}}})
	waitFor(t, "healthy after the first check", func() bool { return h.isHealthy("a") })
	ln.Close()
	h.tick(1)
	h.tick(1)
	if h.isHealthy("a") {
		t.Fatal("still healthy after two failed checks against a closed port")
	}
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	h.tick(1)
	h.tick(1)
	if !h.isHealthy("a") {
		t.Fatalf("not healthy after the port came back: %+v", h.state("a"))
	}
}

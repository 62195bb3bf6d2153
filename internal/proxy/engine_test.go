package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tailscale-gateway/tailscale-gateway/internal/drainlisten"
	"github.com/tailscale-gateway/tailscale-gateway/internal/proxyconfig"
)

// backend is a real HTTP server that answers with its name.
type backend struct {
	name string
	ln   *drainlisten.Listener
	srv  *http.Server
}

func startBackend(t *testing.T, name string) *backend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dl := drainlisten.Wrap(ln.(*net.TCPListener))
	b := &backend{name: name, ln: dl, srv: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" && strings.HasPrefix(name, "sick") {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, name)
	})}}
	go b.srv.Serve(dl)
	t.Cleanup(func() { b.kill(); b.srv.Close() })
	return b
}

func (b *backend) addr() string { return b.ln.Addr().String() }

// kill stops the backend: from now on dials are refused; connections already
// accepted are served. (http.Server.Shutdown would not do: it drops accepted
// connections whose request it had not read yet.)
func (b *backend) kill() { b.ln.Kill() }

func serviceConfig(strategy proxyconfig.Strategy, backends ...*backend) *proxyconfig.Config {
	svc := proxyconfig.Service{Name: "web", Strategy: strategy}
	for _, b := range backends {
		svc.Backends = append(svc.Backends, proxyconfig.Backend{Name: b.name, Address: b.addr()})
	}
	c := &proxyconfig.Config{
		Listeners: []proxyconfig.Listener{{Address: "127.0.0.1:0", Service: "web"}},
		Services:  []proxyconfig.Service{svc},
	}
	return c
}

func startEngine(t *testing.T, cfg *proxyconfig.Config, reg prometheus.Registerer) (*Engine, string) {
	t.Helper()
	cfg.Default()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, cfg, Options{Registry: reg, GoroutinesPerConnection: goroutineMode})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		e.Shutdown(ctx)
	})
	return e, e.Addr(cfg.Listeners[0].Address).String()
}

// newEngine starts an engine with opts on cfg (defaulted); the caller
// shuts it down.
func newEngine(t testing.TB, cfg *proxyconfig.Config, opts Options) *Engine {
	t.Helper()
	cfg.Default()
	e, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Apply(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	return e
}

// goroutineMode is the mode startEngine and testEngine start engines in;
// inEachMode sets it.
var goroutineMode bool

// inEachMode runs test once for each way the engine serves host-network
// listeners: event loops (the default on Linux) and goroutines per
// connection.
func inEachMode(t *testing.T, test func(t *testing.T)) {
	for _, m := range []struct {
		name       string
		goroutines bool
	}{{"event-loops", false}, {"goroutines", true}} {
		t.Run(m.name, func(t *testing.T) {
			goroutineMode = m.goroutines
			defer func() { goroutineMode = false }()
			test(t)
		})
	}
}

// get makes one request on a new connection and returns the body.
func get(addr string) (string, error) {
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := client.Get("http://" + addr + "/")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return string(body), err
}

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

func backendStats(e *Engine, name string) BackendStats {
	for _, s := range e.Stats() {
		for _, b := range s.Backends {
			if b.Name == name {
				return b
			}
		}
	}
	return BackendStats{}
}

func TestWeightedSplitEndToEnd(t *testing.T) {
	inEachMode(t, func(t *testing.T) {
		a, b, c := startBackend(t, "a"), startBackend(t, "b"), startBackend(t, "c")
		cfg := serviceConfig(proxyconfig.StrategyWeighted, a, b, c)
		three, one := 3, 1
		bs := cfg.Services[0].Backends
		bs[0].Weight, bs[0].Group = &three, "pool"
		bs[1].Group = "pool" // shares pool's weight 3, half each
		bs[2].Weight = &one
		reg := prometheus.NewPedanticRegistry()
		e, addr := startEngine(t, cfg, reg)
		got := map[string]int{}
		for range 400 {
			body, err := get(addr)
			if err != nil {
				t.Fatal(err)
			}
			got[body]++
		}
		// Sequential picks follow the smooth weighted schedule exactly.
		if got["a"] != 150 || got["b"] != 150 || got["c"] != 100 {
			t.Fatalf("split = %v, want a=150 b=150 c=100", got)
		}
		waitFor(t, "connections to end", func() bool { return backendStats(e, "a").Active == 0 })
		if st := backendStats(e, "a"); st.Total != 150 || st.Failed != 0 || st.BytesUp == 0 || st.BytesDown == 0 {
			t.Fatalf("counters of a = %+v", st)
		}
		if v := metricValue(t, reg, "tsgw_proxy_backend_connections_total", "c"); v != 100 {
			t.Fatalf("metric connections_total{backend=c} = %v, want 100", v)
		}
	})
}

// metricValue reads one backend's series of a metric from a registry.
func metricValue(t *testing.T, reg *prometheus.Registry, metric, backendName string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != metric {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "backend" && l.GetValue() == backendName {
					if m.GetCounter() != nil {
						return m.GetCounter().GetValue()
					}
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	t.Fatalf("no %s{backend=%q}", metric, backendName)
	return 0
}

// TestBackendKilledUnderLoad: 50 clients, a new connection per request, one
// backend dies mid-run. Dial retries hide the refused dials and passive
// ejection takes the dead backend out of rotation.
func TestBackendKilledUnderLoad(t *testing.T) {
	inEachMode(t, func(t *testing.T) {
		a, b, c := startBackend(t, "a"), startBackend(t, "b"), startBackend(t, "c")
		cfg := serviceConfig(proxyconfig.StrategyRoundRobin, a, b, c)
		e, addr := startEngine(t, cfg, nil)
		loadWithKill(t, addr, 50, 20, b.kill, "a", "b", "c")
		st := backendStats(e, "b")
		if st.Failed == 0 || !st.Ejected || st.Healthy {
			t.Fatalf("killed backend: %+v, want failed dials and ejection", st)
		}
		t.Logf("killed backend: %d dials refused and retried elsewhere", st.Failed)
	})
}

func TestNoBackendReachable(t *testing.T) {
	inEachMode(t, func(t *testing.T) {
		a := startBackend(t, "a")
		cfg := serviceConfig(proxyconfig.StrategyRoundRobin, a)
		e, addr := startEngine(t, cfg, nil)
		a.kill()
		if _, err := get(addr); err == nil {
			t.Fatal("request succeeded with every backend down")
		}
		waitFor(t, "unserved count", func() bool { return e.Stats()[0].Unserved == 1 })
	})
}

func TestActiveHealthChecksSteerTraffic(t *testing.T) {
	ok, sick := startBackend(t, "ok"), startBackend(t, "sick")
	cfg := serviceConfig(proxyconfig.StrategyRoundRobin, ok, sick)
	cfg.Services[0].HealthCheck = proxyconfig.HealthCheck{Enabled: true, Path: "/health",
		Interval: proxyconfig.Duration{Duration: time.Hour}, Timeout: proxyconfig.Duration{Duration: 5 * time.Second}}
	e, addr := startEngine(t, cfg, nil)
	waitFor(t, "first checks", func() bool {
		return backendStats(e, "ok").Healthy && backendStats(e, "sick").HealthState == "unknown" &&
			backendStats(e, "sick").LastError != ""
	})
	for range 10 {
		if body, err := get(addr); err != nil || body != "ok" {
			t.Fatalf("got %q, %v; want only the healthy backend", body, err)
		}
	}
	if e.Stats()[0].Panic {
		t.Fatal("panic mode with a healthy backend")
	}
}

// echoBackend reads until end of input, then answers with what it read and
// closes: it only works if the proxy passes half-closes on.
func echoBackend(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						fmt.Fprintf(c, "bye after %q\n", line)
						return
					}
					io.WriteString(c, "echo "+line)
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func echoConfig(addrs ...string) *proxyconfig.Config {
	svc := proxyconfig.Service{Name: "echo"}
	for i, a := range addrs {
		svc.Backends = append(svc.Backends, proxyconfig.Backend{Name: fmt.Sprint("e", i), Address: a})
	}
	return &proxyconfig.Config{
		Listeners: []proxyconfig.Listener{{Address: "127.0.0.1:0", Service: "echo"}},
		Services:  []proxyconfig.Service{svc},
	}
}

func dialTCP(t *testing.T, addr string) (*net.TCPConn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn), bufio.NewReader(c)
}

func expectLine(t *testing.T, r *bufio.Reader, want string) {
	t.Helper()
	line, err := r.ReadString('\n')
	if err != nil || line != want {
		t.Fatalf("read %q, %v; want %q", line, err, want)
	}
}

func TestHalfClose(t *testing.T) {
	inEachMode(t, func(t *testing.T) {
		_, addr := startEngine(t, echoConfig(echoBackend(t)), nil)
		halfCloseExchange(t, addr, []string{"hello"}, "partial")
	})
}

// halfCloseExchange talks to an echoBackend through addr: each of lines
// echoed, then last sent without a newline and the client's side shut
// down; the backend's goodbye must name last, then the connection end.
func halfCloseExchange(t *testing.T, addr string, lines []string, last string) {
	t.Helper()
	c, r := dialTCP(t, addr)
	for _, l := range lines {
		io.WriteString(c, l+"\n")
		expectLine(t, r, "echo "+l+"\n")
	}
	io.WriteString(c, last)
	c.CloseWrite()
	expectLine(t, r, fmt.Sprintf("bye after %q\n", last))
	if _, err := r.ReadByte(); err != io.EOF {
		t.Fatalf("after the backend closed: %v, want EOF", err)
	}
}

// TestHalfCloseRightAway: a client that sends its last bytes and shuts
// down before the backend connection is up gets its answer.
func TestHalfCloseRightAway(t *testing.T) {
	inEachMode(t, func(t *testing.T) {
		_, addr := startEngine(t, echoConfig(echoBackend(t)), nil)
		for _, sent := range []string{"early", ""} {
			halfCloseExchange(t, addr, nil, sent)
		}
	})
}

func TestIdleTimeout(t *testing.T) {
	inEachMode(t, func(t *testing.T) {
		cfg := echoConfig(echoBackend(t))
		cfg.Services[0].IdleTimeout = proxyconfig.Duration{Duration: 150 * time.Millisecond}
		_, addr := startEngine(t, cfg, nil)

		busy, busyR := dialTCP(t, addr)
		idle, idleR := dialTCP(t, addr)
		io.WriteString(idle, "once\n")
		expectLine(t, idleR, "echo once\n")
		start := time.Now()
		// The busy connection talks every 30 ms, well inside the timeout, and
		// must survive more than twice the timeout.
		for time.Since(start) < 500*time.Millisecond {
			io.WriteString(busy, "ping\n")
			expectLine(t, busyR, "echo ping\n")
			time.Sleep(30 * time.Millisecond)
		}
		idle.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := idleR.ReadByte(); err != io.EOF {
			t.Fatalf("idle connection: %v, want EOF from the proxy closing it", err)
		}
		if time.Since(start) > 5*time.Second {
			t.Fatal("idle connection outlived its timeout by far")
		}
	})
}

func TestReloadKeepsEstablishedConnections(t *testing.T) {
	inEachMode(t, func(t *testing.T) {
		first, second := echoBackend(t), echoBackend(t)
		cfg := echoConfig(first)
		e, addr := startEngine(t, cfg, nil)
		old, oldR := dialTCP(t, addr)
		io.WriteString(old, "1\n")
		expectLine(t, oldR, "echo 1\n")

		next := echoConfig(second)
		next.Services[0].Backends[0].Name = "second"
		next.Default()
		if err := e.Apply(context.Background(), next); err != nil {
			t.Fatal(err)
		}
		io.WriteString(old, "2\n") // still on the removed backend
		expectLine(t, oldR, "echo 2\n")
		c, r := dialTCP(t, addr)
		io.WriteString(c, "3\n")
		expectLine(t, r, "echo 3\n")
		waitFor(t, "new connection counted on the new backend", func() bool { return backendStats(e, "second").Total == 1 })
		if e.Addr("127.0.0.1:0").String() != addr {
			t.Fatal("listener was reopened by a reload that kept it")
		}
	})
}

func TestGracefulDrain(t *testing.T) {
	inEachMode(t, func(t *testing.T) {
		cfg := echoConfig(echoBackend(t))
		cfg.Default()
		e := newEngine(t, cfg, Options{GoroutinesPerConnection: goroutineMode})
		addr := e.Addr("127.0.0.1:0").String()
		c, r := dialTCP(t, addr)
		io.WriteString(c, "before\n")
		expectLine(t, r, "echo before\n")

		drained := make(chan error, 1)
		go func() { drained <- e.Shutdown(context.Background()) }()
		waitFor(t, "listener closed", func() bool {
			conn, err := net.Dial("tcp", addr)
			if err == nil {
				conn.Close()
			}
			return err != nil
		})
		if e.Ready() {
			t.Fatal("ready while draining")
		}
		io.WriteString(c, "during\n") // the established connection still works
		expectLine(t, r, "echo during\n")
		select {
		case err := <-drained:
			t.Fatalf("Shutdown returned (%v) with a connection still open", err)
		default:
		}
		c.Close()
		if err := <-drained; err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	})
}

func TestDrainDeadlineCutsConnections(t *testing.T) {
	inEachMode(t, func(t *testing.T) {
		cfg := echoConfig(echoBackend(t))
		cfg.Default()
		e := newEngine(t, cfg, Options{GoroutinesPerConnection: goroutineMode})
		c, r := dialTCP(t, e.Addr("127.0.0.1:0").String())
		io.WriteString(c, "x\n")
		expectLine(t, r, "echo x\n")
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := e.Shutdown(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("Shutdown = %v, want the context's error", err)
		}
		if _, err := r.ReadByte(); err == nil {
			t.Fatal("connection survived a hard stop")
		}
	})
}

func TestApplyRollsBackWhenAListenerFails(t *testing.T) {
	inEachMode(t, func(t *testing.T) {
		busy, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer busy.Close()
		cfg := echoConfig(echoBackend(t))
		e, _ := startEngine(t, cfg, nil)
		bad := echoConfig(echoBackend(t))
		bad.Listeners = append(bad.Listeners, proxyconfig.Listener{Address: busy.Addr().String(), Service: "echo"})
		bad.Default()
		if err := e.Apply(context.Background(), bad); err == nil || !strings.Contains(err.Error(), busy.Addr().String()) {
			t.Fatalf("Apply with a taken port = %v", err)
		}
		if got := e.Stats()[0].Backends[0].Address; got != cfg.Services[0].Backends[0].Address {
			t.Fatalf("failed Apply changed backends to %s", got)
		}
	})
}

// loadWithKill has clients send perClient requests each, a new connection
// per request, calls kill once a third of them are done, and fails the
// test on any request that failed or was answered by none of backends. It
// returns the answers by backend.
func loadWithKill(t *testing.T, addr string, clients, perClient int, kill func(), backends ...string) map[string]int {
	t.Helper()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		answers  = map[string]int{}
		done     atomic.Int64
		failures atomic.Int64
		firstErr atomic.Value
	)
	for range clients {
		wg.Go(func() {
			for range perClient {
				body, err := get(addr)
				if err == nil && !slices.Contains(backends, body) {
					err = fmt.Errorf("body %q, want one of %v", body, backends)
				}
				if err != nil {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, err)
				} else {
					mu.Lock()
					answers[body]++
					mu.Unlock()
				}
				done.Add(1)
			}
		})
	}
	waitFor(t, "a third of the requests", func() bool { return done.Load() >= int64(clients*perClient/3) })
	kill()
	wg.Wait()
	if n := failures.Load(); n != 0 {
		t.Fatalf("%d of %d requests failed; first: %v", n, clients*perClient, firstErr.Load())
	}
	return answers
}

package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/kubetest"
	"github.com/tailscale-gateway/tailscale-gateway/internal/lab"
	"github.com/tailscale-gateway/tailscale-gateway/internal/lab/socks"
)

// TestLeastConnections holds connections open on one backend and checks
// that new connections go to the other. Both backends hold /hold
// requests; 6 held connections spread over the host's 3 backends (its
// own pool's backend directly, the other pool's 2 machines); releasing
// the ones held by backend b leaves a with 2 active connections and b's
// paths with none, so every one of 40 new connections must go to b
// (tolerance: none; least-connections is deterministic here).
func TestLeastConnections(t *testing.T) {
	s := newScenario(t, "e2e-lc")
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	a, b := s.twoPools("lc", &gatewayv1alpha1.LoadBalancingSpec{
		Strategy:    gatewayv1alpha1.StrategyLeastConnections,
		HealthCheck: healthCheck(),
	})
	s.converge(ctx, 4, "a", "b")

	// Open the held connections one by one, so that each sees the others.
	const held = 6
	hold := vipClient(0) // no timeout: the response stays open
	for i := range held {
		var res *http.Response
		waitUntil(t, ctx, "a held connection", func() error {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(s.url(), "/")+"/hold", nil)
			var err error
			res, err = hold.Do(req)
			return err
		}, true)
		defer res.Body.Close()
		r := bufio.NewReader(res.Body)
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("held connection %d: %v", i, err)
		}
		t.Logf("held connection %d on %s", i, strings.TrimSpace(line))
	}
	waitUntil(t, ctx, "backends to hold the connections", func() error {
		if got := a.Held() + b.Held(); got != held {
			return fmt.Errorf("a holds %d, b %d", a.Held(), b.Held())
		}
		return nil
	}, true)
	t.Logf("a holds %d connections, b %d", a.Held(), b.Held())
	if a.Held() == 0 || b.Held() == 0 {
		t.Fatalf("held connections not spread: a %d, b %d", a.Held(), b.Held())
	}
	b.Release()
	waitUntil(t, ctx, "b's held connections to end", func() error {
		if n := b.Held(); n > 0 {
			return fmt.Errorf("b holds %d", n)
		}
		return nil
	}, true)
	// Wait for the host to see b's connections closed: the first answer
	// from b after the release proves nothing, so look for a run of them.
	const n = 40
	l := send(ctx, s.url(), n, 1)
	t.Logf("%d new connections while a holds %d: %s", n, a.Held(), l)
	checkLoad(t, l, n)
	if l.counts["a"] > 0 {
		s.logReports(ctx)
		t.Errorf("%d of %d new connections went to a, which holds %d connections while b holds none", l.counts["a"], l.total(), a.Held())
	}
	a.Release()
}

// TestFailover: primary pool's backend dies, traffic moves to the
// secondary within unhealthyThreshold × interval + timeout (2 × 1s +
// 500ms) plus 3s of slack for jittered intervals, the status update of
// the balancer and the client's request loop; status.activeTier becomes
// secondary (within 30s: status is recomputed on the 10s resync); when
// the primary's backend returns, traffic stays on the secondary for at
// least failbackDelay (5s) and is back on the primary within
// failbackDelay + interval + 3s slack.
func TestFailover(t *testing.T) {
	s := newScenario(t, "e2e-failover")
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	p, sec := newBackend(t, "primary"), newBackend(t, "secondary")
	primary := s.pool("primary", map[string]string{"app": "failover"}, p)
	secondary := s.pool("secondary", map[string]string{"app": "failover"}, sec)
	hc := healthCheck()
	s.service(map[string]string{"app": "failover"}, &gatewayv1alpha1.LoadBalancingSpec{
		Strategy:    gatewayv1alpha1.StrategyFailover,
		HealthCheck: hc,
		FailoverConfig: &gatewayv1alpha1.FailoverConfig{
			PrimaryEndpoints:   []string{primary},
			SecondaryEndpoints: []string{secondary},
			FailbackDelay:      "5s",
		},
	})
	s.converge(ctx, 4, "primary")
	if l := send(ctx, s.url(), 20, 2); l.counts["primary"] != l.total() || l.total() == 0 {
		t.Fatalf("before the failure, traffic is not all on the primary: %s", l)
	}
	s.waitStatus(ctx, "activeTier primary", activeTier("primary"))

	const slack = 3 * time.Second
	failoverWithin := 2*time.Second + 500*time.Millisecond + slack
	p.Stop()
	killed := time.Now()
	c := vipClient(5 * time.Second)
	var errs int
	waitUntil(t, ctx, "traffic to move to the secondary", func() error {
		name, err := ask(ctx, c, s.url())
		if err != nil {
			errs++
			return err
		}
		if name != "secondary" {
			return fmt.Errorf("answered by %s", name)
		}
		return nil
	}, true)
	took := time.Since(killed)
	t.Logf("traffic on the secondary %s after the primary died (%d failed requests meanwhile)", took.Round(time.Millisecond), errs)
	if took > failoverWithin {
		t.Errorf("failover took %s, want at most %s", took.Round(time.Millisecond), failoverWithin)
	}
	s.waitStatus(ctx, "activeTier secondary", activeTier("secondary"))

	p.Start(t)
	restarted := time.Now()
	backWithin := 5*time.Second + time.Second + slack
	waitUntil(t, ctx, "traffic to return to the primary", func() error {
		name, err := ask(ctx, c, s.url())
		if err != nil {
			return err
		}
		if name != "primary" {
			return fmt.Errorf("answered by %s", name)
		}
		return nil
	}, true)
	back := time.Since(restarted)
	t.Logf("traffic back on the primary %s after its backend returned", back.Round(time.Millisecond))
	if back < 5*time.Second {
		t.Errorf("traffic returned to the primary after %s, before failbackDelay (5s)", back.Round(time.Millisecond))
	}
	if back > backWithin {
		t.Errorf("traffic returned to the primary after %s, want at most %s", back.Round(time.Millisecond), backWithin)
	}
	s.waitStatus(ctx, "activeTier primary again", activeTier("primary"))
}

func activeTier(want string) func(*gatewayv1alpha1.TailscaleServices) error {
	return func(ts *gatewayv1alpha1.TailscaleServices) error {
		lb := ts.Status.LoadBalancingStatus
		if lb == nil || lb.FailoverStatus == nil || lb.FailoverStatus.ActiveTier != want {
			return fmt.Errorf("loadBalancingStatus %+v", lb)
		}
		return nil
	}
}

// TestRelabel: a pool relabelled out of the selector stops receiving
// traffic (30 consecutive connections all to the other pool, within 60s)
// and leaves status.selectedEndpoints; a new matching pool joins and
// receives traffic (within convergeTimeout).
func TestRelabel(t *testing.T) {
	s := newScenario(t, "e2e-relabel")
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	a, b, c := newBackend(t, "a"), newBackend(t, "b"), newBackend(t, "c")
	sel := map[string]string{"app": "relabel"}
	s.pool("a", sel, a)
	bPool := s.pool("b", sel, b)
	s.service(sel, &gatewayv1alpha1.LoadBalancingSpec{Strategy: gatewayv1alpha1.StrategyRoundRobin, HealthCheck: healthCheck()})
	s.converge(ctx, 4, "a", "b")

	// The endpoints controller writes the pool too (status, finalizer).
	err := kubetest.Update(ctx, env.Client, ctrlclient.ObjectKey{Namespace: s.ns, Name: bPool},
		func(ep *gatewayv1alpha1.TailscaleEndpoints) { ep.Labels = map[string]string{"app": "elsewhere"} })
	if err != nil {
		t.Fatal(err)
	}
	relabelled := time.Now()
	within, cancelWithin := context.WithTimeout(ctx, time.Minute)
	defer cancelWithin()
	s.waitStatus(within, "b to leave selectedEndpoints", func(ts *gatewayv1alpha1.TailscaleServices) error {
		if names := selected(ts); slices.Contains(names, bPool) || len(names) != 1 {
			return fmt.Errorf("selectedEndpoints %v", names)
		}
		return nil
	})
	s.waitOnly(within, "a", 30)
	t.Logf("b out of the selection and of the traffic %s after the relabel", time.Since(relabelled).Round(time.Millisecond))

	cPool := s.pool("c", sel, c)
	added := time.Now()
	s.waitStatus(ctx, "c to join selectedEndpoints", func(ts *gatewayv1alpha1.TailscaleServices) error {
		if names := selected(ts); !slices.Contains(names, cPool) {
			return fmt.Errorf("selectedEndpoints %v", names)
		}
		return nil
	})
	converge, cancelConverge := context.WithTimeout(ctx, convergeTimeout)
	defer cancelConverge()
	s.waitServing(converge, "a", "c")
	t.Logf("c selected and serving %s after it was created", time.Since(added).Round(time.Millisecond))
	l := send(ctx, s.url(), 100, 4)
	checkLoad(t, l, 100)
	if l.counts["b"] > 0 || l.counts["c"] == 0 {
		t.Errorf("after the new pool joined: %s; want a and c only", l)
	}
}

func selected(ts *gatewayv1alpha1.TailscaleServices) []string {
	var out []string
	for _, e := range ts.Status.SelectedEndpoints {
		out = append(out, e.Name)
	}
	return out
}

// waitOnly waits until n consecutive connections are all answered by name.
func (s *scenario) waitOnly(ctx context.Context, name string, n int) {
	s.t.Helper()
	c := vipClient(5 * time.Second)
	run := 0
	waitUntil(s.t, ctx, fmt.Sprintf("%d consecutive answers from %s", n, name), func() error {
		for run < n {
			got, err := ask(ctx, c, s.url())
			if err != nil || got != name {
				run = 0
				return fmt.Errorf("answer %q, %v", got, err)
			}
			run++
		}
		return nil
	}, true)
}

// TestSteadyStateAndDelete: after convergence, over 3 resyncs of the
// services controller (30s), the operator sends the Tailscale API no write
// at all (the window is the measurement, hence the fixed sleeps); then deleting the TailscaleServices removes the VIP service from
// the emulator, from every pool's ConfigMap and from the lab's routing
// (within 60s).
func TestSteadyStateAndDelete(t *testing.T) {
	s := newScenario(t, "e2e-steady")
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	s.twoPools("steady", &gatewayv1alpha1.LoadBalancingSpec{
		Strategy: gatewayv1alpha1.StrategyRoundRobin, HealthCheck: healthCheck(),
	})
	s.converge(ctx, 4, "a", "b")

	t.Run("steady state", func(t *testing.T) {
		// Convergence includes status writes that trail the traffic; give
		// them one resync before looking.
		time.Sleep(10 * time.Second)
		env.Emulator.ResetRequests()
		time.Sleep(30 * time.Second) // the observation window: 3 resyncs
		if w := env.Emulator.WriteRequests(); len(w) > 0 {
			t.Errorf("%d writes to the Tailscale API in steady state: %+v", len(w), w)
		}
		t.Logf("%d API requests in the window, none a write", len(env.Emulator.Requests()))
	})

	t.Run("delete", func(t *testing.T) {
		ts, err := s.status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := env.Client.Delete(ctx, ts); err != nil {
			t.Fatal(err)
		}
		within, cancelWithin := context.WithTimeout(ctx, time.Minute)
		defer cancelWithin()
		waitUntil(t, within, "the VIP service to leave the emulator, the ConfigMaps and the routing", func() error {
			for _, v := range env.Emulator.VIPServices() {
				if v.Name == s.vipName() {
					return fmt.Errorf("%s still in the emulator", v.Name)
				}
			}
			cms, err := configMapsMention(ctx, s.vipName())
			if err != nil {
				return err
			}
			if len(cms) > 0 {
				return fmt.Errorf("ConfigMaps %v still list it", cms)
			}
			if id, ok := env.Lab.ServiceHost(s.vipName()); ok {
				return fmt.Errorf("still hosted by %s", id)
			}
			if err := env.Client.Get(ctx, ctrlclient.ObjectKeyFromObject(ts), ts); err == nil {
				return fmt.Errorf("TailscaleServices still there (finalizers %v)", ts.Finalizers)
			}
			return nameGone(ctx, s.vipDNSName())
		}, true)
	})
}

// nameGone: the client's MagicDNS no longer knows name, and the lab's
// SOCKS5 proxy refuses it (reply 2) rather than dialing anything.
func nameGone(ctx context.Context, name string) error {
	if ip, err := clientDialer.Lookup(ctx, name); !errors.Is(err, lab.ErrNotInTailnet) {
		return fmt.Errorf("%s still resolves (%v, %v)", name, ip, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if got, err := socks.Reply(ctx, env.Lab.SOCKS5Addr(), name, 80); err != nil || got != socks.ReplyNotAllowed {
		return fmt.Errorf("the lab's SOCKS5 proxy answers CONNECT %s with %d, %v; want 2", name, got, err)
	}
	return nil
}

// TestBackendKilledUnderLoad: 10 concurrent clients, a new connection
// per request, for 8 seconds; one of the two backends is killed after 2s.
// (The test is about the kill, not about load: 50 clients under load are
// the standalone proxy's test, internal/proxy.)
// The backend dies draining (backend.Kill: what it accepted is answered,
// new connections are refused). No request may fail: dials that fail are
// retried, and the dead backend is ejected, whichever machine hosts the
// VIP service (the killed backend is local to half of them).
func TestBackendKilledUnderLoad(t *testing.T) {
	s := newScenario(t, "e2e-kill")
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	_, b := s.twoPools("kill", &gatewayv1alpha1.LoadBalancingSpec{
		Strategy: gatewayv1alpha1.StrategyRoundRobin, HealthCheck: healthCheck(),
	})
	s.converge(ctx, 4, "a", "b")
	host := s.hostPod(ctx)

	var once sync.Once
	began := time.Now()
	var killedAt time.Time
	l := sendUntil(ctx, s.url(), 10, func(int) bool {
		if time.Since(began) > 2*time.Second {
			once.Do(func() { b.Kill(); killedAt = time.Now() })
		}
		return time.Since(began) < 8*time.Second
	})
	t.Logf("VIP host %s; backend b killed at +%s; %d connections: %s", host, killedAt.Sub(began).Round(time.Millisecond), l.total()+len(l.errors)+l.stalls, l)
	checkLoad(t, l, l.total()+len(l.errors)+l.stalls)
	if l.counts["b"] == 0 || l.counts["a"] == 0 {
		t.Errorf("both backends should have served before the kill: %s", l)
	}
	if len(l.errors) > 0 {
		s.logReports(ctx)
	}
}

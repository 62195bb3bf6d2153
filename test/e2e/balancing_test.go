package e2e

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/lab/podrunner"
)

// convergeTimeout bounds how long a new service may take to serve: pools'
// proxies start, join the tailnet, get their config, pass health checks,
// the VIP service is created and approved and routed to a host.
const convergeTimeout = 90 * time.Second

// TestWeighted: weights 70/30 over two pools of two machines; the share
// of connections observed by a client must be within ±5 points over 600
// connections.
func TestWeighted(t *testing.T) {
	s := newScenario(t, "e2e-weighted")
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	east, west := newBackend(t, "east"), newBackend(t, "west")
	labels := func(region string) map[string]string { return map[string]string{"app": "weighted", "region": region} }
	eastPool := s.pool("east", labels("east"), east)
	westPool := s.pool("west", labels("west"), west)
	s.service(map[string]string{"app": "weighted"}, &gatewayv1alpha1.LoadBalancingSpec{
		Strategy:    gatewayv1alpha1.StrategyWeighted,
		HealthCheck: healthCheck(),
		Weights:     map[string]int32{eastPool: 70, westPool: 30},
	})
	s.converge(ctx, 4, "east", "west")

	const n = 600
	began := time.Now()
	l := send(ctx, s.url(), n, 8)
	t.Logf("%d connections in %s: %s", n, time.Since(began).Round(time.Millisecond), l)
	checkLoad(t, l, n)
	if got := l.share("east"); math.Abs(got-0.70) > 0.05 {
		t.Errorf("east got %.1f%% of %d connections, want 70%% ± 5", 100*got, l.total())
	}

	// Inside the cluster, through the in-cluster Service's endpoints (every
	// machine of both pools), the same weights apply.
	t.Run("in the cluster", func(t *testing.T) {
		if ok, why := podrunner.PodNetwork(); !ok {
			t.Skip("the lab's pods cannot be Service endpoints here:", why)
		}
		s.waitStatus(ctx, "ClusterServiceReady", conditionTrue(gatewayv1alpha1.ConditionClusterServiceReady))
		addrs := s.inClusterEndpoints(ctx, 4)
		in := sendUntilWith(ctx, endpointsClient(addrs), "http://"+s.clusterService()+"/", 8, func(i int) bool { return i < n })
		t.Logf("%d in-cluster connections over %v: %s", n, addrs, in)
		checkLoad(t, in, n)
		if got := in.share("east"); math.Abs(got-0.70) > 0.05 {
			t.Errorf("in the cluster, east got %.1f%% of %d connections, want 70%% ± 5", 100*got, in.total())
		}
	})
}

// TestRoundRobin: round-robin over two pools of two machines each, one
// backend per pool; 400 connections must split evenly, each backend
// getting 50% ± 5 points.
func TestRoundRobin(t *testing.T) {
	s := newScenario(t, "e2e-rr")
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	s.twoPools("rr", &gatewayv1alpha1.LoadBalancingSpec{
		Strategy:    gatewayv1alpha1.StrategyRoundRobin,
		HealthCheck: healthCheck(),
	})
	s.converge(ctx, 4, "a", "b")

	const n = 400
	began := time.Now()
	l := send(ctx, s.url(), n, 8)
	t.Logf("%d connections in %s: %s", n, time.Since(began).Round(time.Millisecond), l)
	checkLoad(t, l, n)
	if got := l.share("a"); math.Abs(got-0.5) > 0.05 {
		s.logReports(ctx)
		t.Errorf("a got %.1f%% of %d connections, want 50%% ± 5 (host of %s: %s)", 100*got, l.total(), s.vipName(), s.hostPod(ctx))
	}
}

// converge waits (convergeTimeout) until the service is Ready with
// `backends` healthy backends and traffic reaches every named backend.
func (s *scenario) converge(ctx context.Context, backends int32, names ...string) {
	s.t.Helper()
	began := time.Now()
	converge, cancel := context.WithTimeout(ctx, convergeTimeout)
	defer cancel()
	s.waitStatus(converge, fmt.Sprintf("the service to be Ready with %d healthy backends", backends), ready(backends))
	s.waitServing(converge, names...)
	s.t.Logf("converged in %s; %s is hosted by %s", time.Since(began).Round(time.Millisecond), s.vipName(), s.hostPod(ctx))
}

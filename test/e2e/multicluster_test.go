package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/devenv"
	"github.com/tailscale-gateway/tailscale-gateway/internal/kubetest"
)

// startCluster starts another cluster on the tailnet the tests share: its
// own API server, operator (called operatorID) and proxies; stopped when
// the test ends.
func startCluster(t *testing.T, operatorID string) *devenv.Env {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	e, err := devenv.Start(ctx, devenv.Options{
		CRDDir:      kubetest.CRDDir(),
		StateDir:    filepath.Join(stateDir, operatorID),
		ProxyBinary: proxyBinary,
		PodOutput:   &logs,
		Logf:        labLogs.Logf,
		Join:        env,
		OperatorID:  operatorID,
	})
	if err != nil {
		t.Fatalf("starting cluster %s: %v", operatorID, err)
	}
	t.Cleanup(func() {
		if err := e.Stop(); err != nil {
			t.Errorf("stopping cluster %s: %v", operatorID, err)
		}
	})
	return e
}

// TestTwoClustersShareOneVIPService: two clusters (two API servers, two
// operators, one tailnet) each have a pool and a TailscaleServices for the
// same VIP service, both consenting to share it (vipService.sharing: allow
// and join). The first to register owns it, the other attaches as
// consumer, and both clusters' machines host it: the tailnet sends its
// traffic to one of them. When the owner's cluster lets
// go of it (its TailscaleServices deleted), the service survives, owned by
// the other cluster, and all its traffic reaches the other cluster's
// backend; when that one lets go too, the VIP service is deleted.
func TestTwoClustersShareOneVIPService(t *testing.T) {
	needEnv(t)
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	east := newScenario(t, "e2e-share")
	westCluster := startCluster(t, "e2e-operator-west")
	west := newScenarioIn(t, westCluster, "e2e-share")
	a, b := newBackend(t, "a"), newBackend(t, "b")
	east.pool("east", map[string]string{"app": "share"}, a)
	west.pool("west", map[string]string{"app": "share"}, b)

	east.sharedService()
	east.waitStatus(ctx, "the east cluster's operator owns the VIP service", owner("dev-operator", ""))
	west.sharedService()
	east.waitStatus(ctx, "the west cluster's operator attached as consumer", owner("dev-operator", "e2e-operator-west"))
	west.waitStatus(ctx, "the west cluster sees the shared service", owner("dev-operator", "e2e-operator-west"))
	first := waitAnswer(t, ctx, east.url())
	t.Logf("the tailnet routes %s to the %s cluster's machines", east.vipName(), map[string]string{"a": "east", "b": "west"}[first])

	ts, err := east.status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := east.cluster.Client.Delete(ctx, ts); err != nil {
		t.Fatal(err)
	}
	west.waitStatus(ctx, "the west cluster's operator owns the VIP service", owner("e2e-operator-west", ""))
	east.waitServing(ctx, "b")
	l := send(ctx, east.url(), 40, 4)
	checkLoad(t, l, 40)
	if l.counts["b"] != 40 {
		t.Errorf("after the east cluster let go: answers %v, want all 40 from the west cluster's backend b", l.counts)
	}

	ts, err = west.status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := west.cluster.Client.Delete(ctx, ts); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, ctx, "the last one out deleted the VIP service", func() error {
		for _, s := range env.Emulator.VIPServices() {
			if s.Name == east.vipName() {
				return fmt.Errorf("%s still exists", s.Name)
			}
		}
		return nil
	}, true)
}

// sharedService creates the test's TailscaleServices for svc:<ns>, shared
// with the same object in other clusters: named in vipService, letting
// others join it and asking to join theirs (sharing needs both sides'
// consent), so that an existing one is joined, not overwritten.
func (s *scenario) sharedService() {
	s.t.Helper()
	ts := &gatewayv1alpha1.TailscaleServices{
		ObjectMeta: metav1.ObjectMeta{Name: s.ns, Namespace: s.ns},
		Spec: gatewayv1alpha1.TailscaleServicesSpec{
			Selector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "share"}},
			VIPService: &gatewayv1alpha1.VIPServiceSpec{
				Name:        gatewayv1alpha1.VIPServiceName(s.vipName()),
				Ports:       []gatewayv1alpha1.VIPServicePort{"tcp:80"},
				Tags:        []gatewayv1alpha1.Tag{poolTag},
				AutoApprove: true,
				Sharing:     &gatewayv1alpha1.VIPServiceSharing{Allow: true, Join: true},
			},
			ServiceDiscovery: &gatewayv1alpha1.ServiceDiscoverySpec{DiscoverVIPServices: true},
			LoadBalancing:    &gatewayv1alpha1.LoadBalancingSpec{HealthCheck: healthCheck()},
		},
	}
	if err := s.cluster.Client.Create(s.t.Context(), ts); err != nil {
		s.t.Fatalf("creating TailscaleServices %s: %v", ts.Name, err)
	}
}

// owner accepts a TailscaleServices whose status shows the VIP service's
// registry with this owner and consumer ("" for none), and Ready.
func owner(owner, consumer string) func(*gatewayv1alpha1.TailscaleServices) error {
	return func(ts *gatewayv1alpha1.TailscaleServices) error {
		info := ts.Status.ServiceInfo
		if info == nil || info.OwnerOperator != owner {
			return fmt.Errorf("serviceInfo %+v, want owner %s", info, owner)
		}
		var consumers []string
		if consumer != "" {
			consumers = []string{consumer}
		}
		if fmt.Sprint(info.ConsumerOperators) != fmt.Sprint(consumers) {
			return fmt.Errorf("consumers %v, want %v", info.ConsumerOperators, consumers)
		}
		return nil
	}
}

// waitAnswer waits for an answer from url and returns who answered.
func waitAnswer(t *testing.T, ctx context.Context, url string) string {
	t.Helper()
	c := vipClient(3 * time.Second)
	var who string
	waitUntil(t, ctx, "an answer from "+url, func() (err error) {
		who, err = ask(ctx, c, url)
		return err
	}, true)
	return who
}

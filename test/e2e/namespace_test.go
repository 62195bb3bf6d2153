package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
)

// TestNamespaceDeletion: deleting a namespace that holds two pools and a
// TailscaleServices serving traffic completes within 120s, as `kubectl
// delete namespace` does in a cluster (the lab runs kube-controller-
// manager's namespace controller): the namespace is gone, the VIP service
// and the pools' devices are gone from the Tailscale API, the proxies have
// stopped, and the service's name has left MagicDNS (asked through the
// client's resolver and the lab's SOCKS5 proxy, never by dialing it).
func TestNamespaceDeletion(t *testing.T) {
	s := newScenario(t, "e2e-nsdel")
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	s.twoPools("nsdel", &gatewayv1alpha1.LoadBalancingSpec{
		Strategy: gatewayv1alpha1.StrategyRoundRobin, HealthCheck: healthCheck(),
	})
	s.converge(ctx, 4, "a", "b")

	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: s.ns}}
	if err := env.Client.Delete(ctx, ns); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	within, cancelWithin := context.WithTimeout(ctx, 120*time.Second)
	defer cancelWithin()
	waitUntil(t, within, "the namespace and everything it put in the tailnet to be gone", func() error {
		if err := env.Client.Get(within, ctrlclient.ObjectKeyFromObject(ns), ns); !apierrors.IsNotFound(err) {
			return fmt.Errorf("namespace still there (phase %s, conditions %+v): %v", ns.Status.Phase, ns.Status.Conditions, err)
		}
		for _, v := range env.Emulator.VIPServices() {
			if v.Name == s.vipName() {
				return fmt.Errorf("%s still in the Tailscale API", v.Name)
			}
		}
		for _, p := range []string{s.poolName("a"), s.poolName("b")} {
			if err := wantDevices(s.ns, p, 0); err != nil {
				return err
			}
		}
		for pod := range env.Pods.Running() {
			if strings.HasPrefix(pod, s.ns+"/") {
				return fmt.Errorf("%s still runs", pod)
			}
		}
		return nameGone(within, s.vipDNSName())
	}, true)
	t.Logf("namespace %s and its tailnet resources gone %s after the delete", s.ns, time.Since(began).Round(time.Millisecond))
}

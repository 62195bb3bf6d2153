package operator_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tailscale-gateway/tailscale-gateway/internal/kubetest"
	"github.com/tailscale-gateway/tailscale-gateway/internal/operator"
)

// The operator, run with only the permissions config/rbac generates from
// its markers (not envtest's admin credentials), wins leader election and
// records it: leader election writes a core Event ("became leader")
// besides the Lease, which the events.k8s.io rule of the controllers does
// not cover. A real cluster refused exactly that.
func TestLeaderElectionWithTheGeneratedRole(t *testing.T) {
	env := kubetest.Start(t)
	const ns, user = "tsgw-le", "tsgw-le-operator"
	env.Namespace(t, ns)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	cfg := env.As(t, user, kubetest.ClusterRoleFile(t, "role.yaml"))
	mgr, err := operator.New(ctx, cfg, operator.Options{
		Scheme: env.Scheme, Namespace: ns, DefaultTailnet: "lab", ProxyImage: "tsgw-proxy:test",
		OperatorID: "test", MetricsAddr: "0", ProbeAddr: "0", SharedProcess: true, LeaderElection: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-mgr.Elected():
	case err := <-done:
		t.Fatalf("the operator stopped before it was elected: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("not elected within a minute")
	}
	eventually(t, "the core Event that records the election", func() bool {
		list := &corev1.EventList{}
		if err := env.Client.List(ctx, list, client.InNamespace(ns)); err != nil {
			return false
		}
		for _, e := range list.Items {
			if e.Reason == "LeaderElection" {
				return true
			}
		}
		return false
	})
}

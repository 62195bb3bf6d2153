package operator_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

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
	mgr, done := startAsGeneratedRole(t, env, ns, user, true)
	select {
	case <-mgr.Elected():
	case err := <-done:
		t.Fatalf("the operator stopped before it was elected: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("not elected within a minute")
	}
	eventually(t, "the core Event that records the election", func() bool {
		list := &corev1.EventList{}
		if err := env.Client.List(t.Context(), list, client.InNamespace(ns)); err != nil {
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

// startAsGeneratedRole runs the operator with only the permissions
// config/rbac generates from its markers, as user, until the test ends;
// done receives what its Start returned (the clean-up waits for Start
// whether or not the test took that value).
func startAsGeneratedRole(t *testing.T, env *kubetest.Env, ns, user string, leaderElection bool) (manager.Manager, <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	cfg := env.As(t, user, kubetest.ClusterRoleFile(t, "role.yaml"))
	mgr, err := operator.New(ctx, cfg, operator.Options{
		Scheme: env.Scheme, Namespace: ns, DefaultTailnet: "lab", ProxyImage: "tsgw-proxy:test",
		OperatorID: "test", MetricsAddr: "0", ProbeAddr: "0", SharedProcess: true, LeaderElection: leaderElection,
	})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done, finished := make(chan error, 1), make(chan struct{})
	go func() {
		done <- mgr.Start(ctx)
		close(finished)
	}()
	t.Cleanup(func() { cancel(); <-finished })
	return mgr, done
}

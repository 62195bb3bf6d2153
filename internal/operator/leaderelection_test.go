package operator_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

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
	role := &rbacv1.ClusterRole{}
	data, err := os.ReadFile(filepath.Join("..", "..", "config", "rbac", "role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(data, role); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	for _, obj := range []client.Object{role, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: user},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}},
	}} {
		if err := env.Client.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
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

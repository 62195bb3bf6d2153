package operator_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tailscale-gateway/tailscale-gateway/internal/kubetest"
	"github.com/tailscale-gateway/tailscale-gateway/internal/operator"
	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
)

// The operator's cache keeps the data of its own Secrets only, and only
// the proxy pods.
func TestCacheHoldsOnlyWhatTheOperatorOwns(t *testing.T) {
	env := kubetest.Start(t)
	env.Namespace(t, "apps")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	mgr, err := operator.New(ctx, env.Config, operator.Options{
		Scheme: env.Scheme, Namespace: "apps", DefaultTailnet: "lab", ProxyImage: "tsgw-proxy:test",
		OperatorID: "test", MetricsAddr: "0", ProbeAddr: "0", SharedProcess: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	ours := map[string]string{pool.LabelManagedBy: pool.ManagedBy}
	for _, obj := range []client.Object{
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "oauth", Namespace: "apps"}, StringData: map[string]string{"client_secret": "s3cret"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "web-0-state", Namespace: "apps", Labels: ours}, StringData: map[string]string{"tsgw-status": "{}"}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "apps"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i"}}}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: "apps", Labels: ours}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i"}}}},
	} {
		if err := env.Client.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	cached := mgr.GetClient()
	state := &corev1.Secret{}
	eventually(t, "the state Secret in the cache", func() bool {
		return cached.Get(ctx, client.ObjectKey{Namespace: "apps", Name: "web-0-state"}, state) == nil
	})
	if string(state.Data["tsgw-status"]) != "{}" {
		t.Errorf("the operator's own Secret lost its data in the cache: %v", state.Data)
	}
	oauth := &corev1.Secret{}
	eventually(t, "the OAuth Secret in the cache", func() bool {
		return cached.Get(ctx, client.ObjectKey{Namespace: "apps", Name: "oauth"}, oauth) == nil
	})
	if len(oauth.Data) != 0 {
		t.Errorf("another's Secret is cached with its data: keys %d", len(oauth.Data))
	}
	eventually(t, "the proxy pod in the cache", func() bool {
		return cached.Get(ctx, client.ObjectKey{Namespace: "apps", Name: "web-0"}, &corev1.Pod{}) == nil
	})
	pods := &corev1.PodList{}
	if err := cached.List(ctx, pods, client.InNamespace("apps")); err != nil || len(pods.Items) != 1 {
		t.Errorf("cached pods %d (%v), want only the proxy pod", len(pods.Items), err)
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: never happened", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

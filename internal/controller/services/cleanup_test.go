package services_test

import (
	"context"
	"fmt"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/apiemulator"
	"github.com/tailscale-gateway/tailscale-gateway/internal/cleanup"
	"github.com/tailscale-gateway/tailscale-gateway/internal/kubetest"
)

// With the tailnet's API down, a deleted TailscaleServices is held while
// its VIP service cannot be released (a CleanupBlocked Warning says why
// and how long); annotated to skip the cleanup, it is let go at once and
// its VIP service left as it is.
func TestReleaseIsBoundedAndSkippable(t *testing.T) {
	f := start(t)
	f.pool(t, "web-east", "east", "127.0.0.1:18081", 1)
	f.service(t, "web", "svc:web")
	eventually(t, "svc:web registered", func(ctx context.Context) (bool, string) {
		c := condition(f.get(ctx, "web"), "VIPServiceReady")
		return c == "True/Registered", c
	})
	if err := f.emu.SetFault("/api/v2/tailnet/*/vip-services/*", apiemulator.Fault{Status: 503}); err != nil {
		t.Fatal(err)
	}
	if err := f.env.Client.Delete(t.Context(), f.get(t.Context(), "web")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a CleanupBlocked Warning while the API is down", func(ctx context.Context) (bool, string) {
		n := f.warnings(ctx, ns, "web", "CleanupBlocked")
		return n > 0, fmt.Sprint(n, " warnings")
	})
	if err := f.env.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "web"}, &gatewayv1alpha1.TailscaleServices{}); err != nil {
		t.Fatalf("let go while the API is down and before the bound: %v", err)
	}

	err := kubetest.Update(t.Context(), f.env.Client, client.ObjectKey{Namespace: ns, Name: "web"}, func(ts *gatewayv1alpha1.TailscaleServices) {
		metav1.SetMetaDataAnnotation(&ts.ObjectMeta, cleanup.SkipAnnotation, "true")
	})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "let go once the cleanup is skipped", func(ctx context.Context) (bool, string) {
		err := f.env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, &gatewayv1alpha1.TailscaleServices{})
		return apierrors.IsNotFound(err), fmt.Sprint(err)
	})
	f.emu.ClearFaults()
	if _, err := f.api.GetVIPService(t.Context(), "svc:web"); err != nil {
		t.Errorf("svc:web should be left as it is: %v", err)
	}
}

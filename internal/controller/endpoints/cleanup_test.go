package endpoints

import (
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/apiemulator"
	"github.com/tailscale-gateway/tailscale-gateway/internal/cleanup"
)

// With the tailnet's API down, a deleted pool is held (CleanupBlocked)
// until cleanup.DefaultBound has passed, then let go with CleanupAbandoned; one
// annotated to skip the cleanup is let go at once. Neither blocks for ever.
func TestCleanupIsBounded(t *testing.T) {
	l := startLab(t)
	l.create(t, webPool("web", "lab", 1))
	skipping := webPool("skipping", "lab", 1)
	metav1.SetMetaDataAnnotation(&skipping.ObjectMeta, cleanup.SkipAnnotation, "true")
	l.create(t, skipping)
	l.report(t, "web-0", "n0")
	l.report(t, "skipping-0", "s0")
	l.recorded(t, "web", "n0")
	l.recorded(t, "skipping", "s0")

	for _, pattern := range []string{"/api/v2/device/*", "/api/v2/tailnet/*/devices", "/api/v2/tailnet/*/keys", "/api/v2/tailnet/*/keys/*"} {
		if err := l.emu.SetFault(pattern, apiemulator.Fault{Status: 503}); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"web", "skipping"} {
		if err := l.c.Delete(t.Context(), l.pool(t, name)); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "the skipping pool let go at once", func() error { return l.absent(&gatewayv1alpha1.TailscaleEndpoints{}, "skipping") })
	eventually(t, "CleanupSkipped", func() error { return l.eventWithReason(EventCleanupSkipped) })
	eventually(t, "CleanupBlocked while the API is down", func() error { return l.eventWithReason(EventCleanupBlocked) })
	if err := l.exists(&gatewayv1alpha1.TailscaleEndpoints{}, "web"); err != nil {
		t.Fatalf("the pool was let go before the bound: %v", err)
	}

	l.ahead.Store(int64(cleanup.DefaultBound + time.Minute))
	eventually(t, "the pool let go after the bound", func() error { return l.absent(&gatewayv1alpha1.TailscaleEndpoints{}, "web") })
	eventually(t, "CleanupAbandoned", func() error { return l.eventWithReason(EventCleanupAbandoned) })
	l.emu.ClearFaults()
	if got := l.deviceIDs(t); !slices.Contains(got, "n0") || !slices.Contains(got, "s0") {
		t.Errorf("devices %v: both pools' devices should remain (the API was down, or cleanup was skipped)", got)
	}
}

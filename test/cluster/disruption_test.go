package cluster

import (
	"context"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// underLoad runs what while two workers send requests to the samples' VIP
// service without pause, keeps the load on until after for 200 more
// answers, and fails the test on any failed request: every request here
// is far shorter than the proxies' drain timeout.
func underLoad(t *testing.T, ctx context.Context, what func()) {
	t.Helper()
	waitServing(t, ctx)
	stop := make(chan struct{})
	got := load(ctx, sampleURL(), 2, stop)
	what()
	after := got.total()
	waitUntil(t, ctx, "200 more answers after the disruption", func() error {
		if n := got.total() - after; n < 200 {
			return fmt.Errorf("%d so far", n)
		}
		return nil
	})
	close(stop)
	t.Logf("under load: %s", got)
	if len(got.failures) > 0 {
		t.Errorf("%d of %d requests failed: %v", len(got.failures), got.total(), got.failures)
	}
}

// A proxy pod deleted as kubectl deletes it (SIGTERM from the kubelet, the
// pod's grace period) drains: no request fails, and the StatefulSet's new
// pod takes its place.
func testProxyPodDeletedUnderLoad(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	underLoad(t, ctx, func() {
		old, err := kube.CoreV1().Pods("default").Get(ctx, "web-east-0", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		began := time.Now()
		if err := kube.CoreV1().Pods("default").Delete(ctx, old.Name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, ctx, "a new web-east-0 ready", func() error {
			p, err := kube.CoreV1().Pods("default").Get(ctx, old.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if p.UID == old.UID || !podReady(p) {
				return fmt.Errorf("not replaced yet")
			}
			return nil
		})
		t.Logf("web-east-0 replaced and ready %s after the delete", time.Since(began).Round(time.Millisecond))
	})
}

// A new proxy image (the chart's proxyImage.tag) rolls every pool's
// StatefulSet, one pod at a time, while the VIP service keeps serving.
func testProxyImageRollingUpdate(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 6*time.Minute)
	defer cancel()
	next := imageTag + "-next"
	t.Cleanup(func() {
		// Back to the first image for whatever runs next; its own wait.
		if err := env.Install(context.Background(), nil); err != nil {
			t.Errorf("restoring the proxy image: %v", err)
		}
	})
	underLoad(t, ctx, func() {
		began := time.Now()
		if err := env.Install(ctx, map[string]any{"proxyImage": map[string]any{"tag": next}}); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, ctx, "both pools rolled to tsgw-proxy:"+next, func() error {
			for _, name := range []string{"web-east", "web-west"} {
				if err := rolledTo(ctx, name, "ghcr.io/tailscale-gateway/tsgw-proxy:"+next); err != nil {
					return err
				}
			}
			return nil
		})
		t.Logf("both pools rolled %s after the upgrade", time.Since(began).Round(time.Millisecond))
	})
}

// rolledTo says why the pool's StatefulSet has not finished rolling to
// image, if it has not.
func rolledTo(ctx context.Context, name, image string) error {
	sts, err := kube.AppsV1().StatefulSets("default").Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	st := sts.Status
	switch {
	case sts.Spec.Template.Spec.Containers[0].Image != image:
		return fmt.Errorf("%s: template still has %s", name, sts.Spec.Template.Spec.Containers[0].Image)
	case st.ObservedGeneration < sts.Generation || st.UpdateRevision != st.CurrentRevision:
		return fmt.Errorf("%s: rolling (revision %s of %s)", name, st.CurrentRevision, st.UpdateRevision)
	case st.ReadyReplicas != *sts.Spec.Replicas || st.UpdatedReplicas != *sts.Spec.Replicas:
		return fmt.Errorf("%s: %d ready, %d updated of %d", name, st.ReadyReplicas, st.UpdatedReplicas, *sts.Spec.Replicas)
	}
	return nil
}

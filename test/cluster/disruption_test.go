package cluster

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
)

// workers is how many connections the load keeps open at once.
const workers = 2

// underLoad runs what while workers send requests to the samples' VIP
// service without pause, keeps the load on until 200 more answers came
// after it, and checks the failures. Every request here is far shorter
// than the proxies' drain, so none may fail, with one exception the
// tailnet imposes: a VIP service is routed to one host at a time, and
// when it moves (its host stopped advertising it), a client's packets go
// to the new host at once, so a connection still open on the old host at
// that instant is lost (reset by the new host, or unanswered). Each move
// may therefore cost at most one request per worker, and never a refused
// connection: the old host serves every new connection until clients
// have moved (internal/proxy/podmode/withdraw.go).
func underLoad(t *testing.T, ctx context.Context, what func()) {
	t.Helper()
	waitServing(t, ctx)
	stopWatching := watchHost(ctx, "svc:web")
	got, stopLoad := load(ctx, sampleURL(), workers)
	what()
	after := got.total()
	waitUntil(t, ctx, "200 more answers after the disruption", func() error {
		if n := got.total() - after; n < 200 {
			return fmt.Errorf("%d so far", n)
		}
		return nil
	})
	stopLoad()
	moved := stopWatching()
	t.Logf("under load: %s; the VIP service moved host %d times %v", got, len(moved), moved)
	allowed := workers * len(moved)
	if len(got.failures) > allowed {
		t.Errorf("%d of %d requests failed, more than %d (one per worker and move of the host): %v",
			len(got.failures), got.total(), allowed, got.failures)
	}
	for _, f := range got.failures {
		if strings.Contains(f, "refused") {
			t.Errorf("a new connection was refused: %s", f)
		}
	}
}

// watchHost records every change of the VIP service's host until the
// returned function is called; it returns the changes ("old->new").
func watchHost(ctx context.Context, vip string) func() []string {
	done := make(chan struct{})
	var mu sync.Mutex
	var moves []string
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		last, _ := env.Lab.ServiceHost(vip)
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-time.After(10 * time.Millisecond):
			}
			host, _ := env.Lab.ServiceHost(vip)
			if host != last {
				mu.Lock()
				moves = append(moves, time.Now().Format("15:04:05.000")+" "+string(last)+"->"+string(host))
				mu.Unlock()
				last = host
			}
		}
	}()
	return func() []string {
		close(done)
		<-finished
		mu.Lock()
		defer mu.Unlock()
		return moves
	}
}

// A proxy pod deleted as kubectl deletes it (SIGTERM from the kubelet,
// the pod's grace period) drains: a machine that does not host the VIP
// service costs no request at all; the host costs at most what its move
// costs (see underLoad). The StatefulSet's new pod takes its place.
func testProxyPodDeletedUnderLoad(t *testing.T) {
	t.Run("not the host", func(t *testing.T) { deletePodUnderLoad(t, false) })
	t.Run("the host", func(t *testing.T) { deletePodUnderLoad(t, true) })
}

func deletePodUnderLoad(t *testing.T, host bool) {
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	waitServing(t, ctx)
	began := time.Now()
	victim := hostPod(t, ctx, "svc:web")
	if !host {
		victim = otherPod(victim)
	}
	logs := followLogs(ctx, victim)
	underLoad(t, ctx, func() {
		old, err := kube.CoreV1().Pods("default").Get(ctx, victim, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		deleted := time.Now()
		if err := kube.CoreV1().Pods("default").Delete(ctx, old.Name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, ctx, "a new "+victim+" ready", func() error {
			p, err := kube.CoreV1().Pods("default").Get(ctx, old.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if p.UID == old.UID || !podReady(p) {
				return fmt.Errorf("not replaced yet")
			}
			return nil
		})
		t.Logf("%s replaced and ready %s after the delete", victim, time.Since(deleted).Round(time.Millisecond))
	})
	if t.Failed() {
		t.Logf("log of the deleted pod %s:\n%s", victim, logs())
		t.Logf("the lab's log since the test began:\n%s", labLog.Since(began))
	}
}

// otherPod is a proxy pod of the samples that is not pod.
func otherPod(pod string) string {
	for _, p := range []string{"web-east-0", "web-east-1", "web-west-0", "web-west-1"} {
		if p != pod {
			return p
		}
	}
	return ""
}

// hostPod is the proxy pod whose machine the lab routes the VIP service to.
func hostPod(t *testing.T, ctx context.Context, vip string) string {
	t.Helper()
	var pod string
	waitUntil(t, ctx, "a host of "+vip, func() error {
		id, ok := env.Lab.ServiceHost(vip)
		if !ok {
			return fmt.Errorf("no host")
		}
		hostname := ""
		for _, d := range env.Lab.Devices() {
			if d.NodeID == string(id) {
				hostname = d.Hostname
			}
		}
		for _, name := range []string{"web-east", "web-west"} {
			ep := &gatewayv1alpha1.TailscaleEndpoints{}
			if err := env.Client.Get(ctx, client.ObjectKey{Namespace: "default", Name: name}, ep); err != nil {
				return err
			}
			for _, m := range ep.Status.Machines {
				if hostname != "" && m.Hostname == hostname {
					pod = m.Name
					return nil
				}
			}
		}
		return fmt.Errorf("host %s (%q) is no machine of the samples' pools", id, hostname)
	})
	return pod
}

// followLogs streams the pod's log from now until it ends; the returned
// function gives what arrived so far.
func followLogs(ctx context.Context, pod string) func() string {
	var mu sync.Mutex
	var buf strings.Builder
	go func() {
		stream, err := kube.CoreV1().Pods("default").GetLogs(pod, &corev1.PodLogOptions{Follow: true}).Stream(ctx)
		if err != nil {
			mu.Lock()
			buf.WriteString(err.Error())
			mu.Unlock()
			return
		}
		defer stream.Close()
		chunk := make([]byte, 4096)
		for {
			n, err := stream.Read(chunk)
			mu.Lock()
			buf.Write(chunk[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return func() string {
		mu.Lock()
		defer mu.Unlock()
		return buf.String()
	}
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

package cluster

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tailscale-gateway/tailscale-gateway/internal/devenv"
	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
)

// kubectl delete namespace: everything the namespace put in the cluster
// (including its pool's ClusterRoleBinding, which has no namespace) and in
// the tailnet (devices, auth keys, the VIP service) is gone, asked of the API server,
// the Tailscale API and the lab's devices.
func testNamespaceDeletedLeavesNothing(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	if _, err := devenv.ApplyDir(ctx, env.Client, "testdata/doomed"); err != nil {
		t.Fatal(err)
	}
	url := "http://doomed." + env.Lab.Domain() + "/"
	waitUntil(t, ctx, "svc:doomed to answer", func() error {
		a, err := get(ctx, vipClient(), url)
		if err == nil && a.group != "doomed" {
			err = fmt.Errorf("answered by %s", a.group)
		}
		return err
	})
	binding := pool.ProxyAuthBindingName("doomed", "app")
	if _, err := kube.RbacV1().ClusterRoleBindings().Get(ctx, binding, metav1.GetOptions{}); err != nil {
		t.Fatalf("the pool's ClusterRoleBinding: %v", err)
	}
	machines := doomedDevices()
	if len(machines) != 1 {
		t.Fatalf("lab devices of the pool: %v, want 1", machines)
	}
	if keys := doomedKeys(); len(keys) == 0 {
		t.Fatal("no live auth key of the pool (tag:doomed) in the Tailscale API")
	}

	began := time.Now()
	if err := kube.CoreV1().Namespaces().Delete(ctx, "doomed", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, ctx, "the namespace and all it made to be gone", func() error {
		if ns, err := kube.CoreV1().Namespaces().Get(ctx, "doomed", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("namespace still there (%v): %v", nsPhase(ns), err)
		}
		if _, err := kube.RbacV1().ClusterRoleBindings().Get(ctx, binding, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("ClusterRoleBinding %s still there: %v", binding, err)
		}
		for _, v := range env.Emulator.VIPServices() {
			if v.Name == "svc:doomed" {
				return fmt.Errorf("svc:doomed still in the Tailscale API")
			}
		}
		if left := doomedDevices(); len(left) > 0 {
			return fmt.Errorf("devices %v still in the tailnet", left)
		}
		if left := doomedKeys(); len(left) > 0 {
			return fmt.Errorf("auth keys %v still live in the Tailscale API", left)
		}
		return nil
	})
	t.Logf("namespace doomed and all it made gone %s after the delete", time.Since(began).Round(time.Millisecond))
}

func doomedDevices() []string {
	var out []string
	for _, d := range env.Lab.Devices() {
		if strings.HasPrefix(d.Hostname, "app-0-doomed-") {
			out = append(out, d.Hostname)
		}
	}
	return out
}

// doomedKeys are the live auth keys of the pool: only it asks for tag:doomed.
func doomedKeys() []string {
	var out []string
	for _, k := range env.Emulator.AuthKeys() {
		if !k.Revoked && slices.Contains(k.Tags, "tag:doomed") {
			out = append(out, k.ID)
		}
	}
	return out
}

func nsPhase(ns *corev1.Namespace) string {
	if ns == nil {
		return ""
	}
	return string(ns.Status.Phase)
}

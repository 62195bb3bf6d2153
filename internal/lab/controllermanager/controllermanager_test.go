package controllermanager_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tailscale-gateway/tailscale-gateway/internal/kubetest"
	"github.com/tailscale-gateway/tailscale-gateway/internal/lab/controllermanager"
)

// TestGarbageCollectionAndNamespaceDeletion: with the lab's
// kube-controller-manager, an owned object goes with its owner, and a
// deleted namespace with objects in it is gone, as in a cluster.
func TestGarbageCollectionAndNamespaceDeletion(t *testing.T) {
	env := kubetest.Start(t)
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, env.KubeConfig, 0o600); err != nil {
		t.Fatal(err)
	}
	kcm, err := controllermanager.Start(controllermanager.Options{
		BinaryDir: os.Getenv("KUBEBUILDER_ASSETS"), Kubeconfig: kubeconfig, Output: t.Output(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := kcm.Stop(); err != nil {
			t.Error(err)
		}
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	c := env.Client
	env.Namespace(t, "gc")

	owner := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "owner", Namespace: "gc"}}
	if err := c.Create(ctx, owner); err != nil {
		t.Fatal(err)
	}
	owned := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "owned", Namespace: "gc", OwnerReferences: []metav1.OwnerReference{{
		APIVersion: "v1", Kind: "ConfigMap", Name: owner.Name, UID: owner.UID,
	}}}}
	if err := c.Create(ctx, owned); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, owner); err != nil {
		t.Fatal(err)
	}
	waitGone(t, ctx, c, owned)

	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "gc"}}
	if err := c.Delete(ctx, ns); err != nil {
		t.Fatal(err)
	}
	waitGone(t, ctx, c, ns)
}

func waitGone(t *testing.T, ctx context.Context, c client.Client, obj client.Object) {
	t.Helper()
	for {
		err := c.Get(ctx, client.ObjectKeyFromObject(obj), obj)
		if apierrors.IsNotFound(err) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%T %s still there: %v", obj, obj.GetName(), fmt.Sprint(err))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

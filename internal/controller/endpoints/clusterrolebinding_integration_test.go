package endpoints

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/kubetest"
	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
)

// The operator keeps each pool's ClusterRoleBinding of the proxies' auth
// delegator role, restores it when it drifts, and deletes it with the pool
// (it is cluster-scoped: no garbage collection by owner).
func TestPoolClusterRoleBinding(t *testing.T) {
	l := startLab(t)
	l.create(t, webPool("web", "lab", 1))
	name := pool.ProxyAuthBindingName(poolNS, "web")
	get := func() (*rbacv1.ClusterRoleBinding, error) {
		crb := &rbacv1.ClusterRoleBinding{}
		return crb, l.c.Get(context.Background(), client.ObjectKey{Name: name}, crb)
	}
	asBuilt := func() error {
		crb, err := get()
		if err != nil {
			return err
		}
		want := ClusterRoleBinding(l.pool(t, "web"))
		if crb.RoleRef != want.RoleRef || !equality.Semantic.DeepEqual(crb.Subjects, want.Subjects) || !isBindingOf(crb, poolNS, "web") {
			return fmt.Errorf("binding %+v, want %+v", crb, want)
		}
		return nil
	}
	eventually(t, "the pool's ClusterRoleBinding", asBuilt)

	crb, err := get()
	if err != nil {
		t.Fatal(err)
	}
	crb.Subjects = []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "intruder", Namespace: poolNS}}
	if err := l.c.Update(t.Context(), crb); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the ClusterRoleBinding restored", asBuilt)

	if err := l.c.Delete(t.Context(), l.pool(t, "web")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the pool let go", func() error { return l.absent(&gatewayv1alpha1.TailscaleEndpoints{}, "web") })
	eventually(t, "the ClusterRoleBinding deleted", func() error {
		if _, err := get(); !apierrors.IsNotFound(err) {
			return fmt.Errorf("get: %v, want not found", err)
		}
		return nil
	})
}

// A ClusterRoleBinding of the pool's name that is not labelled as ours is
// left alone, and survives the pool.
func TestForeignClusterRoleBindingIsLeftAlone(t *testing.T) {
	l := startLab(t)
	name := pool.ProxyAuthBindingName(poolNS, "web")
	foreign := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "someone", Namespace: "elsewhere"}},
	}
	l.create(t, foreign)
	l.create(t, webPool("web", "lab", 1))
	eventually(t, "the StatefulSet", func() error { return l.exists(&corev1.ServiceAccount{}, "web-proxy") })
	if err := l.c.Delete(t.Context(), l.pool(t, "web")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the pool let go", func() error { return l.absent(&gatewayv1alpha1.TailscaleEndpoints{}, "web") })
	got := &rbacv1.ClusterRoleBinding{}
	if err := l.c.Get(t.Context(), client.ObjectKey{Name: name}, got); err != nil {
		t.Fatalf("the foreign binding: %v", err)
	}
	if got.RoleRef != foreign.RoleRef || !equality.Semantic.DeepEqual(got.Subjects, foreign.Subjects) {
		t.Errorf("the foreign binding was changed: %+v", got)
	}
}

// With config/rbac's auth delegator ClusterRole bound by its pool's
// ClusterRoleBinding, a pool's ServiceAccount may create TokenReviews and
// SubjectAccessReviews (what its metrics filter asks), and nothing more.
func TestProxyAuthDelegatorRole(t *testing.T) {
	env := kubetest.Start(t)
	ctx := t.Context()
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "config", "rbac", "proxy_auth_delegator_role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	role := &rbacv1.ClusterRole{}
	if err := yaml.UnmarshalStrict(data, role); err != nil {
		t.Fatal(err)
	}
	if role.Name != pool.ProxyAuthClusterRole {
		t.Fatalf("config/rbac names the role %q, the operator binds %q", role.Name, pool.ProxyAuthClusterRole)
	}
	ep := webPool("auth", "lab", 1)
	ep.Namespace = poolNS
	for _, obj := range []client.Object{role, ClusterRoleBinding(ep)} {
		if err := env.Client.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + poolNS + ":" + pool.ServiceAccountName("auth")}
	proxy, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "a TokenReview", func() error {
		return proxy.Create(ctx, &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: "not-a-token"}})
	})
	if err := proxy.Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: "prometheus", NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: "/metrics", Verb: "get"},
	}}); err != nil {
		t.Errorf("a SubjectAccessReview: %v", err)
	}
	if err := proxy.List(ctx, &corev1.SecretList{}); !apierrors.IsForbidden(err) {
		t.Errorf("list Secrets: %v, want forbidden", err)
	}
	other := &rbacv1.ClusterRoleBinding{}
	if err := proxy.Get(ctx, client.ObjectKey{Name: pool.ProxyAuthBindingName(poolNS, "auth")}, other); !apierrors.IsForbidden(err) {
		t.Errorf("get its ClusterRoleBinding: %v, want forbidden", err)
	}
}

// The operator's generated ClusterRole (config/rbac/role.yaml) lets it
// create and delete a pool's ClusterRoleBinding of the proxies' auth
// delegator role — RBAC escalation prevention is satisfied: the operator
// holds the role's rights (for its own metrics) and bind on it — and
// refuses it a binding of any other role.
func TestOperatorMayBindOnlyTheAuthDelegator(t *testing.T) {
	env := kubetest.Start(t)
	ctx := t.Context()
	// The delegator role exists (installed with the operator) but is bound
	// to nobody here.
	if err := env.Client.Create(ctx, kubetest.ClusterRoleFile(t, "proxy_auth_delegator_role.yaml")); err != nil {
		t.Fatal(err)
	}
	cfg := env.As(t, "tsgw-test-operator", kubetest.ClusterRoleFile(t, "role.yaml"))
	as, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	ep := webPool("web", "lab", 1)
	ep.Namespace = poolNS
	crb := ClusterRoleBinding(ep)
	eventually(t, "the operator creates the pool's ClusterRoleBinding", func() error { return as.Create(ctx, crb) })
	if err := as.Delete(ctx, crb); err != nil {
		t.Errorf("the operator deletes it: %v", err)
	}
	escalating := ClusterRoleBinding(ep)
	escalating.Name, escalating.RoleRef.Name = "escalating", "cluster-admin"
	if err := as.Create(ctx, escalating); !apierrors.IsForbidden(err) {
		t.Errorf("a binding of cluster-admin: %v, want forbidden", err)
	}
}

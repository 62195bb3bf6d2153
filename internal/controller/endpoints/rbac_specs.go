package endpoints

import (
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
)

// ServiceAccount is the identity of the pool's machines.
func ServiceAccount(ep *gatewayv1alpha1.TailscaleEndpoints) *corev1.ServiceAccount {
	return &corev1.ServiceAccount{ObjectMeta: objectMeta(ep, pool.ServiceAccountName(ep.Name))}
}

// Role lets the pool's machines read their ConfigMap, read their own auth
// key and write their own state, by name, and nothing else.
//
// list and watch honour resourceNames only for requests that select a
// single object with fieldSelector=metadata.name=<name>; the proxy watches
// its ConfigMap that way. A list of all ConfigMaps is refused.
//
// With no replicas there are no Secret rules at all: an empty
// resourceNames would grant every Secret of the namespace.
func Role(ep *gatewayv1alpha1.TailscaleEndpoints) *rbacv1.Role {
	rules := []rbacv1.PolicyRule{{
		APIGroups:     []string{""},
		Resources:     []string{"configmaps"},
		ResourceNames: []string{pool.ConfigMapName(ep.Name)},
		Verbs:         []string{"get", "list", "watch"},
	}}
	pods := podNames(ep)
	if len(pods) > 0 {
		rules = append(rules,
			secretRule(pods, pool.StateSecretName, "get", "update", "patch"),
			secretRule(pods, pool.AuthKeySecretName, "get"),
		)
	}
	return &rbacv1.Role{ObjectMeta: objectMeta(ep, pool.ServiceAccountName(ep.Name)), Rules: rules}
}

func secretRule(pods []string, name func(pod string) string, verbs ...string) rbacv1.PolicyRule {
	names := make([]string, 0, len(pods))
	for _, p := range pods {
		names = append(names, name(p))
	}
	return rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: names, Verbs: verbs}
}

// RoleBinding grants Role to ServiceAccount.
func RoleBinding(ep *gatewayv1alpha1.TailscaleEndpoints) *rbacv1.RoleBinding {
	name := pool.ServiceAccountName(ep.Name)
	return &rbacv1.RoleBinding{
		ObjectMeta: objectMeta(ep, name),
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: name, Namespace: ep.Namespace}},
	}
}

// ClusterRoleBinding lets the pool's machines check who scrapes their
// /metrics: it binds pool.ProxyAuthClusterRole (create TokenReviews and
// SubjectAccessReviews, which are cluster-scoped) to the pool's
// ServiceAccount. A cluster-scoped object cannot be owned by the
// namespaced pool, so it carries no owner reference: the pool's labels and
// its namespace's say whose it is, and the pool's finalizer deletes it.
func ClusterRoleBinding(ep *gatewayv1alpha1.TailscaleEndpoints) *rbacv1.ClusterRoleBinding {
	labels := poolLabels(ep)
	labels[pool.LabelPoolNamespace] = ep.Namespace
	return &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: pool.ProxyAuthBindingName(ep.Namespace, ep.Name), Labels: labels},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: pool.ProxyAuthClusterRole},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: pool.ServiceAccountName(ep.Name), Namespace: ep.Namespace}},
	}
}

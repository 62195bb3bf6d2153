package kubetest

import (
	"os"
	"path/filepath"
	goruntime "runtime"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"
)

// ClusterRoleFile reads a ClusterRole that config/rbac holds (generated
// from markers or written there), e.g. "role.yaml".
func ClusterRoleFile(t testing.TB, name string) *rbacv1.ClusterRole {
	t.Helper()
	_, file, _, _ := goruntime.Caller(0)
	data, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "config", "rbac", name))
	if err != nil {
		t.Fatal(err)
	}
	role := &rbacv1.ClusterRole{}
	if err := yaml.UnmarshalStrict(data, role); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return role
}

// As binds role to user and returns a configuration that acts as that
// user, so a test runs with the permissions the role grants rather than
// envtest's admin credentials.
func (e *Env) As(t testing.TB, user string, role *rbacv1.ClusterRole) *rest.Config {
	t.Helper()
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: user},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}},
	}
	if err := e.Client.Create(t.Context(), role); err != nil {
		t.Fatalf("creating ClusterRole %s: %v", role.Name, err)
	}
	if err := e.Client.Create(t.Context(), binding); err != nil {
		t.Fatalf("binding %s to %s: %v", role.Name, user, err)
	}
	cfg := rest.CopyConfig(e.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
	return cfg
}

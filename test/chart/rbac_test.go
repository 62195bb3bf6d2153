package chart

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// The chart's ClusterRole and leader-election Role together grant exactly
// the rules controller-gen generated from the controllers' markers into
// config/rbac/role.yaml; the Role grants only Leases, in the release's
// namespace. When a marker changes, `make generate` rewrites both.
func TestRBACMatchesGenerated(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot(), "config", "rbac", "role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var generated rbacv1.ClusterRole
	if err := yaml.UnmarshalStrict(data, &generated); err != nil {
		t.Fatal(err)
	}

	objs := objects(t, mustRender(t, nil).Manifest)
	var cluster rbacv1.ClusterRole
	var role rbacv1.Role
	for _, o := range objs {
		switch o.GetKind() {
		case "ClusterRole":
			if strings.HasSuffix(o.GetName(), "-metrics-reader") {
				continue // for scrapers, not the operator
			}
			if o.GetName() == "tsgw-proxy-auth-delegator" {
				checkProxyAuthDelegator(t, o.Object)
				continue // for the proxies, bound per pool by the operator
			}
			fromUnstructured(t, o.Object, &cluster)
		case "Role":
			fromUnstructured(t, o.Object, &role)
		}
	}
	if role.Namespace != namespace {
		t.Errorf("the leader-election Role is in %q, want the release's namespace %q", role.Namespace, namespace)
	}
	for _, r := range role.Rules {
		if !slices.Equal(r.APIGroups, []string{"coordination.k8s.io"}) || !slices.Equal(r.Resources, []string{"leases"}) {
			t.Errorf("the leader-election Role grants more than Leases: %+v", r)
		}
	}
	got := append(normalize(cluster.Rules), normalize(role.Rules)...)
	slices.Sort(got)
	want := normalize(generated.Rules)
	slices.Sort(want)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("the chart's RBAC drifted from config/rbac/role.yaml (-generated +chart); run `make generate`:\n%s", d)
	}
}

// normalize turns rules into one line per (group, resource, verb), so the
// comparison does not depend on how rules are grouped.
func normalize(rules []rbacv1.PolicyRule) []string {
	var out []string
	for _, r := range rules {
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				for _, v := range r.Verbs {
					out = append(out, strings.Join([]string{g, res, v, strings.Join(r.ResourceNames, ","), strings.Join(r.NonResourceURLs, ",")}, "|"))
				}
			}
		}
		for _, u := range r.NonResourceURLs {
			for _, v := range r.Verbs {
				out = append(out, "nonResource|"+u+"|"+v)
			}
		}
	}
	return out
}

func fromUnstructured(t *testing.T, obj map[string]any, into any) {
	t.Helper()
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(obj, into, true); err != nil {
		t.Fatalf("decoding %v: %v", obj["kind"], err)
	}
}

// checkProxyAuthDelegator: the chart's proxy auth delegator ClusterRole is
// config/rbac's, under the same fixed name (the operator may bind only it).
func checkProxyAuthDelegator(t *testing.T, obj map[string]any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(), "config", "rbac", "proxy_auth_delegator_role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var want, got rbacv1.ClusterRole
	if err := yaml.UnmarshalStrict(data, &want); err != nil {
		t.Fatal(err)
	}
	fromUnstructured(t, obj, &got)
	if d := cmp.Diff(want.Rules, got.Rules); d != "" {
		t.Errorf("the chart's tsgw-proxy-auth-delegator differs from config/rbac's (-config +chart):\n%s", d)
	}
}

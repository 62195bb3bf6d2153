package chart

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/kube"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// The chart installs into a real kube-apiserver (CRDs from crds/, then
// every object, accepted by the server's validation) and upgrades twice:
// to every option, then to fewer objects, checked on what the API server
// holds. The namespace enforces the restricted Pod Security level, and a
// Pod made from the Deployment's template is admitted there.
func TestInstallAndUpgrade(t *testing.T) {
	c, helm := startAPIServer(t)
	ctx := t.Context()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace, Labels: map[string]string{
		"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest",
	}}}
	if err := c.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}

	// 1. The common case: defaults plus a TailscaleTailnet.
	install := action.NewInstall(helm)
	install.ReleaseName = releaseName
	install.Namespace = namespace
	install.WaitStrategy = kube.HookOnlyStrategy // no kubelet here: pods never run
	install.Timeout = time.Minute
	if _, err := install.RunWithContext(ctx, loadChart(t), valuesFile(t, "values-tailnet.yaml")); err != nil {
		t.Fatalf("helm install: %v", err)
	}
	for _, crd := range []string{"tailscaletailnets", "tailscaleendpoints", "tailscaleservices"} {
		mustGet(t, c, "CustomResourceDefinition", "apiextensions.k8s.io/v1", "", crd+".gateway.tailscale.com")
	}
	dep := &appsv1.Deployment{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: "tsgw-tailscale-gateway"}, dep); err != nil {
		t.Fatal(err)
	}
	if *dep.Spec.Replicas != 2 || dep.Spec.Template.Spec.ServiceAccountName != "tsgw-tailscale-gateway" {
		t.Errorf("Deployment: replicas %d, service account %s", *dep.Spec.Replicas, dep.Spec.Template.Spec.ServiceAccountName)
	}
	tn := mustGet(t, c, "TailscaleTailnet", "gateway.tailscale.com/v1alpha1", "", "default")
	if ref, _, _ := unstructured.NestedStringMap(tn.Object, "spec", "oauthSecretRef"); ref["name"] != "tailscale-oauth" || ref["namespace"] != namespace {
		t.Errorf("TailscaleTailnet's oauthSecretRef %v, want tailscale-oauth in %s", ref, namespace)
	}
	if api, _, _ := unstructured.NestedString(tn.Object, "spec", "apiBaseURL"); api != "https://api.tailscale.com" {
		t.Errorf("the CRD's default apiBaseURL was not applied: %q", api)
	}
	checkPodAdmitted(t, c, dep)

	// 2. Every option (the release's names change with fullnameOverride).
	all := valuesFile(t, "values-all.yaml")
	upgrade(t, helm, all)
	dep = &appsv1.Deployment{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: "gateway"}, dep); err != nil {
		t.Fatal(err)
	}
	pod := dep.Spec.Template.Spec
	if *dep.Spec.Replicas != 3 || pod.ServiceAccountName != "gateway-operator" || pod.PriorityClassName != "system-cluster-critical" ||
		pod.NodeSelector["kubernetes.io/os"] != "linux" || len(pod.Tolerations) != 1 || pod.Affinity == nil ||
		pod.Containers[0].Image != "registry.example.com/tsgw/operator:1.2.3" || pod.Containers[0].Resources.Limits.Cpu().String() != "1" {
		t.Errorf("the Deployment does not carry the values: %+v", dep.Spec)
	}
	if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: "tsgw-tailscale-gateway"}, &appsv1.Deployment{}); !apierrors.IsNotFound(err) {
		t.Errorf("the first install's Deployment must be gone after the rename: %v", err)
	}
	cr := &rbacv1.ClusterRole{}
	if err := c.Get(ctx, client.ObjectKey{Name: "gateway"}, cr); err != nil || len(cr.Rules) == 0 {
		t.Errorf("ClusterRole gateway: %v %v", cr.Rules, err)
	}
	for _, o := range []struct{ kind, apiVersion, ns, name string }{
		{"ServiceAccount", "v1", namespace, "gateway-operator"},
		{"ClusterRoleBinding", "rbac.authorization.k8s.io/v1", "", "gateway"},
		{"Role", "rbac.authorization.k8s.io/v1", namespace, "gateway-leader-election"},
		{"RoleBinding", "rbac.authorization.k8s.io/v1", namespace, "gateway-leader-election"},
		{"Service", "v1", namespace, "gateway-metrics"},
		{"ServiceMonitor", "monitoring.coreos.com/v1", namespace, "gateway"},
	} {
		mustGet(t, c, o.kind, o.apiVersion, o.ns, o.name)
	}
	tn = mustGet(t, c, "TailscaleTailnet", "gateway.tailscale.com/v1alpha1", "", "corp")
	if name, _, _ := unstructured.NestedString(tn.Object, "spec", "tailnet"); name != "example.com" {
		t.Errorf("TailscaleTailnet corp's tailnet is %q", name)
	}
	checkPodAdmitted(t, c, dep)

	// 3. Fewer objects: no leader election, no ServiceMonitor.
	upgrade(t, helm, valuesFile(t, "values-upgrade.yaml"))
	dep = &appsv1.Deployment{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: "gateway"}, dep); err != nil {
		t.Fatal(err)
	}
	if *dep.Spec.Replicas != 1 || !slices.Contains(dep.Spec.Template.Spec.Containers[0].Args, "--leader-elect=false") ||
		dep.Spec.Template.Spec.Containers[0].Resources.Requests.Cpu().String() != "200m" {
		t.Errorf("the upgrade did not reach the Deployment: replicas %d, args %v", *dep.Spec.Replicas, dep.Spec.Template.Spec.Containers[0].Args)
	}
	for _, o := range []struct{ kind, apiVersion, name string }{
		{"Role", "rbac.authorization.k8s.io/v1", "gateway-leader-election"},
		{"RoleBinding", "rbac.authorization.k8s.io/v1", "gateway-leader-election"},
		{"ServiceMonitor", "monitoring.coreos.com/v1", "gateway"},
	} {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion(o.apiVersion)
		u.SetKind(o.kind)
		if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: o.name}, u); !apierrors.IsNotFound(err) {
			t.Errorf("%s %s must be gone after the upgrade: %v", o.kind, o.name, err)
		}
	}
	tn = mustGet(t, c, "TailscaleTailnet", "gateway.tailscale.com/v1alpha1", "", "corp")
	if api, _, _ := unstructured.NestedString(tn.Object, "spec", "apiBaseURL"); api != "https://api.example.com" {
		t.Errorf("TailscaleTailnet corp's apiBaseURL is %q after the upgrade", api)
	}
}

// startAPIServer starts kube-apiserver and etcd with only a stand-in
// ServiceMonitor CRD: the chart installs its own CRDs. It returns a client
// and a Helm configuration for the server.
func startAPIServer(t *testing.T) (client.Client, *action.Configuration) {
	t.Helper()
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("KUBEBUILDER_ASSETS is not set: run the tests with `make test`")
		}
		t.Skip("KUBEBUILDER_ASSETS is not set: run `make test` (it builds the API server once per machine)")
	}
	env := &envtest.Environment{CRDDirectoryPaths: []string{filepath.Join("testdata", "crds")}, ErrorIfCRDPathMissing: true}
	cfg, err := env.Start()
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stopping the API server: %v", err)
		}
	})
	if err != nil {
		t.Fatalf("starting the API server: %v", err)
	}
	c, err := client.New(cfg, client.Options{Scheme: clientgoscheme.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, env.KubeConfig, 0o600); err != nil {
		t.Fatal(err)
	}
	flags := genericclioptions.NewConfigFlags(false)
	flags.KubeConfig = &kubeconfig
	ns := namespace
	flags.Namespace = &ns
	helm := action.NewConfiguration()
	if err := helm.Init(flags, namespace, "secret"); err != nil {
		t.Fatal(err)
	}
	return c, helm
}

func upgrade(t *testing.T, helm *action.Configuration, vals map[string]any) {
	t.Helper()
	up := action.NewUpgrade(helm)
	up.Namespace = namespace
	up.WaitStrategy = kube.HookOnlyStrategy
	up.Timeout = time.Minute
	if _, err := up.RunWithContext(t.Context(), releaseName, loadChart(t), vals); err != nil {
		t.Fatalf("helm upgrade: %v", err)
	}
}

func mustGet(t *testing.T, c client.Client, kind, apiVersion, ns, name string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(schema.FromAPIVersionAndKind(apiVersion, kind))
	if err := c.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, u); err != nil {
		t.Fatalf("%s %s: %v", kind, name, err)
	}
	return u
}

// checkPodAdmitted creates a Pod from the Deployment's template in the
// restricted namespace (the API server's PodSecurity admission decides),
// and checks that the same Pod without its security contexts is refused,
// so the admission is known to be enforcing.
func checkPodAdmitted(t *testing.T, c client.Client, dep *appsv1.Deployment) {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, GenerateName: dep.Name + "-", Labels: dep.Spec.Template.Labels},
		Spec:       *dep.Spec.Template.Spec.DeepCopy(),
	}
	if err := c.Create(t.Context(), pod, client.DryRunAll); err != nil {
		t.Errorf("a Pod from Deployment %s's template is refused: %v", dep.Name, err)
	}
	bad := pod.DeepCopy()
	bad.Spec.SecurityContext = nil
	bad.Spec.Containers[0].SecurityContext = nil
	err := c.Create(t.Context(), bad, client.DryRunAll)
	if err == nil || !strings.Contains(err.Error(), "PodSecurity") {
		t.Errorf("a Pod without security contexts must be refused by PodSecurity admission, got %v", err)
	}
}

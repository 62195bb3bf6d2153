// Package manifests checks that the install manifests (config/default, and
// envoy-extension/config for the Envoy Gateway extension server) render
// with kustomize and are accepted by a real API server.
package manifests

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tailscale-gateway/tailscale-gateway/internal/kubetest"
)

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func TestInstallManifestsApply(t *testing.T) {
	env := kubetest.Start(t)
	apply := applier(t, env)
	apply("config/default", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding", "Namespace", "ServiceAccount", "Deployment")
	checkHardened(t, env, "tsgw-operator")

	// The extension server, applied after the operator, as its README says.
	apply("envoy-extension/config", "ClusterRole", "ClusterRoleBinding", "Namespace", "ServiceAccount", "Deployment", "PodDisruptionBudget", "Service")
	checkHardened(t, env, "tsgw-envoy-extension")
	svc := &corev1.Service{}
	if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: "tailscale-gateway", Name: "tsgw-envoy-extension"}, svc); err != nil ||
		len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 5005 {
		t.Errorf("the extension's Service (Envoy Gateway's extensionManager.service) must serve port 5005: %+v, %v", svc.Spec.Ports, err)
	}
}

// applier renders a kustomization of the repository, checks it has the
// given kinds, and applies it to the test's API server.
func applier(t *testing.T, env *kubetest.Env) func(dir string, kinds ...string) {
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, env.KubeConfig, 0o600); err != nil {
		t.Fatal(err)
	}
	kubectl := filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl")
	return func(dir string, kinds ...string) {
		t.Helper()
		rendered, err := exec.CommandContext(t.Context(), kubectl, "kustomize", filepath.Join(repoRoot(), dir)).Output()
		if err != nil {
			t.Fatalf("kubectl kustomize %s: %v", dir, err)
		}
		for _, kind := range kinds {
			if !strings.Contains(string(rendered), "kind: "+kind+"\n") {
				t.Errorf("%s renders no %s", dir, kind)
			}
		}
		// A real apply: the API server is the test's own.
		apply := exec.CommandContext(t.Context(), kubectl, "--kubeconfig", kubeconfig, "apply", "--server-side", "--validate=strict", "-f", "-")
		apply.Stdin = bytes.NewReader(rendered)
		if out, err := apply.CombinedOutput(); err != nil {
			t.Fatalf("the API server refuses %s: %v\n%s", dir, err, out)
		}
	}
}

// checkHardened: the Deployment's container runs non-root, with a
// read-only root filesystem and no capabilities.
func checkHardened(t *testing.T, env *kubetest.Env, name string) {
	t.Helper()
	dep := &appsv1.Deployment{}
	if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: "tailscale-gateway", Name: name}, dep); err != nil {
		t.Fatalf("Deployment %s is not there: %v", name, err)
	}
	pod := dep.Spec.Template.Spec
	sc := pod.Containers[0].SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || len(sc.Capabilities.Drop) == 0 ||
		pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot {
		t.Errorf("%s must run non-root with a read-only root and no capabilities: %+v %+v", name, pod.SecurityContext, sc)
	}
}

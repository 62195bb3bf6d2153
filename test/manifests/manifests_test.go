// Package manifests checks that the install manifests (config/default)
// render with kustomize and are accepted by a real API server.
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
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tailscale-gateway/tailscale-gateway/internal/kubetest"
)

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func TestInstallManifestsApply(t *testing.T) {
	env := kubetest.Start(t)
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, env.KubeConfig, 0o600); err != nil {
		t.Fatal(err)
	}
	kubectl := filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl")
	rendered, err := exec.CommandContext(t.Context(), kubectl, "kustomize", filepath.Join(repoRoot(), "config", "default")).Output()
	if err != nil {
		t.Fatalf("kubectl kustomize config/default: %v", err)
	}
	for _, kind := range []string{"CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding", "Namespace", "ServiceAccount", "Deployment"} {
		if !strings.Contains(string(rendered), "kind: "+kind+"\n") {
			t.Errorf("config/default renders no %s", kind)
		}
	}
	// A real apply: the API server is the test's own.
	apply := exec.CommandContext(t.Context(), kubectl, "--kubeconfig", kubeconfig, "apply", "--server-side", "--validate=strict", "-f", "-")
	apply.Stdin = bytes.NewReader(rendered)
	if out, err := apply.CombinedOutput(); err != nil {
		t.Fatalf("the API server refuses config/default: %v\n%s", err, out)
	}
	dep := &appsv1.Deployment{}
	if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: "tailscale-gateway", Name: "tsgw-operator"}, dep); err != nil {
		t.Fatalf("the operator's Deployment is not there: %v", err)
	}
	sc := dep.Spec.Template.Spec.Containers[0].SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || len(sc.Capabilities.Drop) == 0 {
		t.Errorf("the operator container must run with a read-only root and no capabilities: %+v", sc)
	}
}

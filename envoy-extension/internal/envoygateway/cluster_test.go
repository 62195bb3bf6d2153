package envoygateway

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// controllerNamespace is Envoy Gateway's own namespace, where its infra
// provider puts the Envoy proxies' Deployment and Service (its default).
const controllerNamespace = "envoy-gateway-system"

// startAPIServer starts a real kube-apiserver and etcd (envtest) with the
// CRDs Envoy Gateway v1.9.1 serves and watches: the Gateway API standard
// channel of the gateway-api module version this module requires (the one
// Envoy Gateway v1.9.1 requires too), Envoy Gateway's own (from its
// module), and this project's, TailscaleServices among them. It returns a
// client, the admin's rest config and a kubeconfig file for Envoy Gateway.
func startAPIServer(t *testing.T) (client.Client, *rest.Config, string) {
	t.Helper()
	gatewayAPI := moduleDir(t, "sigs.k8s.io/gateway-api")
	standard, err := filepath.Glob(filepath.Join(gatewayAPI, "config", "crd", "standard", "gateway.networking.k8s.io_*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var crds []string
	for _, f := range standard {
		// The ValidatingAdmissionPolicy against downgrades is no CRD.
		if !strings.Contains(filepath.Base(f), "_vap_") {
			crds = append(crds, f)
		}
	}
	crds = append(crds,
		filepath.Join(moduleDir(t, "github.com/envoyproxy/gateway"), "charts", "gateway-helm", "charts", "crds", "crds", "generated"),
		filepath.Join("..", "..", "..", "config", "crd", "bases"),
	)
	env := &envtest.Environment{
		UseExistingCluster: ptr.To(false), // never a cluster from USE_EXISTING_CLUSTER
		CRDInstallOptions:  envtest.CRDInstallOptions{Paths: crds, ErrorIfPathMissing: true},
	}
	// Registered before Start, so that what a failed Start did start is
	// stopped too.
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stopping envtest: %v", err)
		}
	})
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("starting envtest: %v", err)
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := gwapiv1.Install(scheme); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	// Envoy Gateway as a cluster admin: its RBAC is its chart's business,
	// and README documents what it needs for TailscaleServices.
	admin, err := env.AddUser(envtest.User{Name: "envoy-gateway", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := admin.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}
	return c, cfg, path
}

// moduleDir is the directory of a module this module requires, as the go
// command reports it (the module cache; tests run offline).
func moduleDir(t *testing.T, module string) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", module).Output()
	if err != nil {
		var stderr string
		if exit, ok := err.(*exec.ExitError); ok {
			stderr = string(exit.Stderr)
		}
		t.Fatalf("go list -m %s: %v\n%s", module, err, stderr)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		t.Fatalf("go list -m %s gave no directory: run `go mod download %s`", module, module)
	}
	return dir
}

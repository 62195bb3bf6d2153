// Package kubetest starts a real kube-apiserver and etcd (controller-runtime's
// envtest) with the project's CRDs installed, for integration tests.
//
// The binaries come from hack/envtest-binaries.sh, which `make test` runs and
// which sets KUBEBUILDER_ASSETS; tests that need them are skipped with a clear
// message when they are missing, unless CI=true, where that is a failure.
package kubetest

import (
	"os"
	"path/filepath"
	goruntime "runtime"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
)

// Env is a running API server with the CRDs installed.
type Env struct {
	Config     *rest.Config
	Client     client.Client
	Scheme     *runtime.Scheme
	KubeConfig []byte
	env        *envtest.Environment
}

// NewScheme returns a scheme with the core kinds and this project's kinds.
func NewScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := gatewayv1alpha1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}

// CRDDir is the directory of the generated CRDs.
func CRDDir() string {
	_, file, _, _ := goruntime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "config", "crd", "bases")
}

// Start starts an API server for the test and stops it when the test ends.
func Start(t testing.TB) *Env {
	t.Helper()
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("KUBEBUILDER_ASSETS is not set: run the tests with `make test`")
		}
		t.Skip("KUBEBUILDER_ASSETS is not set: run `make test` (it builds the API server once per machine)")
	}
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{CRDDir()},
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := env.Start()
	// Stop even after a failed Start: it may have left etcd running.
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stopping the API server: %v", err)
		}
	})
	if err != nil {
		t.Fatalf("starting the API server: %v", err)
	}
	scheme := NewScheme()
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	return &Env{Config: cfg, Client: c, Scheme: scheme, KubeConfig: env.KubeConfig, env: env}
}

// Namespace creates a namespace for the test.
func (e *Env) Namespace(t testing.TB, name string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := e.Client.Create(t.Context(), ns); client.IgnoreAlreadyExists(err) != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
}

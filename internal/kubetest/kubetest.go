// Package kubetest starts a real kube-apiserver and etcd (controller-runtime's
// envtest) with the project's CRDs installed, for integration tests.
//
// The binaries come from hack/envtest-binaries.sh, which `make test` runs and
// which sets KUBEBUILDER_ASSETS; tests that need them are skipped with a clear
// message when they are missing, unless CI=true, where that is a failure.
package kubetest

import (
	"context"
	"os"
	"path/filepath"
	goruntime "runtime"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	tsgwscheme "github.com/tailscale-gateway/tailscale-gateway/internal/scheme"
)

// Env is a running API server with the CRDs installed.
type Env struct {
	Config     *rest.Config
	Client     client.Client
	Scheme     *runtime.Scheme
	KubeConfig []byte
	env        *envtest.Environment
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
	scheme := tsgwscheme.New()
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

// Update changes the object named key the way a test must when a
// controller writes the object too (its status, its finalizers): it reads
// the object afresh, applies change and updates it, again for as long as
// the update conflicts with another write.
func Update[T any, PT interface {
	*T
	client.Object
}](ctx context.Context, c client.Client, key client.ObjectKey, change func(PT)) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		obj := PT(new(T))
		if err := c.Get(ctx, key, obj); err != nil {
			return err
		}
		change(obj)
		return c.Update(ctx, obj)
	})
}

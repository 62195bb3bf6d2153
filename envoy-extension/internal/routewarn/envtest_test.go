package routewarn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwclientv1 "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned/typed/apis/v1"
)

// TestRunAgainstAPIServer runs the watcher against a real kube-apiserver
// (envtest) with only the GRPCRoute and TCPRoute CRDs of the gateway-api
// module this module requires, as the extension's ServiceAccount with only
// what config/rbac.yaml grants it: it watches those two and not TLSRoute
// or UDPRoute; a GRPCRoute and a TCPRoute naming a TailscaleServices each
// get one Warning Event, once per generation; a route of Service backends
// gets none.
func TestRunAgainstAPIServer(t *testing.T) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("KUBEBUILDER_ASSETS is not set: run `make test`, which builds kube-apiserver, etcd and kubectl and sets it")
		}
		t.Skip("KUBEBUILDER_ASSETS is not set (the directory of kube-apiserver, etcd and kubectl); `make test` sets it")
	}
	crds := filepath.Join(moduleDir(t, "sigs.k8s.io/gateway-api"), "config", "crd", "standard")
	env := &envtest.Environment{
		UseExistingCluster: ptr.To(false), // never a cluster from USE_EXISTING_CLUSTER
		CRDInstallOptions: envtest.CRDInstallOptions{
			Paths: []string{
				filepath.Join(crds, "gateway.networking.k8s.io_grpcroutes.yaml"),
				filepath.Join(crds, "gateway.networking.k8s.io_tcproutes.yaml"),
			},
			ErrorIfPathMissing: true,
		},
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
	ctx := t.Context()
	const namespace = "shop"
	core, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := core.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	gw, err := gwclientv1.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}

	applyRBAC(t, core)
	// RBAC matches a ServiceAccount subject by this user name.
	sa, err := env.AddUser(envtest.User{Name: "system:serviceaccount:tailscale-gateway:tsgw-envoy-extension"}, nil)
	if err != nil {
		t.Fatal(err)
	}

	var logs syncBuffer
	runCtx, cancel := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- Run(runCtx, sa.Config(), slog.New(slog.NewJSONHandler(&logs, nil))) }()
	t.Cleanup(func() {
		cancel()
		if err := <-ran; err != nil {
			t.Errorf("Run: %v", err)
		}
		if t.Failed() {
			t.Logf("the watcher's log:\n%s", logs.String())
		}
	})

	tsRef := gwapiv1.BackendRef{BackendObjectReference: gwapiv1.BackendObjectReference{
		Group: ptr.To(gwapiv1.Group(group)), Kind: ptr.To(gwapiv1.Kind(kind)), Name: "web", Port: ptr.To(gwapiv1.PortNumber(80)),
	}}
	serviceRef := gwapiv1.BackendRef{BackendObjectReference: gwapiv1.BackendObjectReference{Name: "plain", Port: ptr.To(gwapiv1.PortNumber(8080))}}
	parents := gwapiv1.CommonRouteSpec{ParentRefs: []gwapiv1.ParentReference{{Name: "gw"}}}
	// The Service-only route first, in the queue of the same controller.
	if _, err := gw.TCPRoutes(namespace).Create(ctx, &gwapiv1.TCPRoute{
		ObjectMeta: metav1.ObjectMeta{Name: "plain"},
		Spec:       gwapiv1.TCPRouteSpec{CommonRouteSpec: parents, Rules: []gwapiv1.TCPRouteRule{{BackendRefs: []gwapiv1.BackendRef{serviceRef}}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := gw.TCPRoutes(namespace).Create(ctx, &gwapiv1.TCPRoute{
		ObjectMeta: metav1.ObjectMeta{Name: "tcp"},
		Spec:       gwapiv1.TCPRouteSpec{CommonRouteSpec: parents, Rules: []gwapiv1.TCPRouteRule{{BackendRefs: []gwapiv1.BackendRef{tsRef}}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	grpc, err := gw.GRPCRoutes(namespace).Create(ctx, &gwapiv1.GRPCRoute{
		ObjectMeta: metav1.ObjectMeta{Name: "grpc"},
		Spec: gwapiv1.GRPCRouteSpec{CommonRouteSpec: parents, Rules: []gwapiv1.GRPCRouteRule{
			{BackendRefs: []gwapiv1.GRPCBackendRef{{BackendRef: serviceRef}}},
			{BackendRefs: []gwapiv1.GRPCBackendRef{{BackendRef: tsRef}}},
		}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	warnings := func(routeKind, name string) []eventsv1.Event {
		list, err := core.EventsV1().Events(namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var out []eventsv1.Event
		for _, e := range list.Items {
			if e.Regarding.Kind == routeKind && e.Regarding.Name == name {
				out = append(out, e)
			}
		}
		return out
	}
	want := map[string]string{
		"GRPCRoute": "spec.rules[1].backendRefs[0] (TailscaleServices shop/web): TailscaleServices backends work on HTTPRoute only: Envoy Gateway v1.9.1 does not call the extension for GRPCRoute, so this backend gets no endpoints; use an HTTPRoute, or a Service backendRef to the in-cluster Service web-vip",
		"TCPRoute":  "spec.rules[0].backendRefs[0] (TailscaleServices shop/web): TailscaleServices backends work on HTTPRoute only: Envoy Gateway v1.9.1 does not call the extension for TCPRoute, so this backend gets no endpoints; use an HTTPRoute, or a Service backendRef to the in-cluster Service web-vip",
	}
	for routeKind, name := range map[string]string{"GRPCRoute": "grpc", "TCPRoute": "tcp"} {
		eventually(t, 30*time.Second, routeKind+" "+name+" gets a Warning Event", func() (bool, string) {
			got := warnings(routeKind, name)
			if len(got) != 1 {
				return false, fmt.Sprintf("%d Events", len(got))
			}
			e := got[0]
			return e.Type == corev1.EventTypeWarning && e.Reason == Reason && e.Note == want[routeKind] && e.ReportingController == Controller,
				fmt.Sprintf("%s %s %q from %s", e.Type, e.Reason, e.Note, e.ReportingController)
		})
	}
	if got := warnings("TCPRoute", "plain"); len(got) != 0 {
		t.Errorf("the TCPRoute of Service backends got Events: %+v", got)
	}
	for _, notWatched := range []string{`"kind":"TLSRoute"`, `"kind":"UDPRoute"`} {
		if !strings.Contains(logs.String(), `"msg":"not watched: the API server does not serve it",`+notWatched) {
			t.Errorf("the log does not say %s is not watched", notWatched)
		}
	}

	// A change that is not a new generation warns no more; a new
	// generation warns again.
	grpc.Labels = map[string]string{"touched": "yes"}
	if grpc, err = gw.GRPCRoutes(namespace).Update(ctx, grpc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	if got := warnings("GRPCRoute", "grpc"); len(got) != 1 || got[0].Series != nil {
		t.Errorf("after a label change: %d Events (first series %v), want the one, unrepeated", len(got), got[0].Series)
	}
	grpc.Spec.Rules[1].BackendRefs[0].Port = ptr.To(gwapiv1.PortNumber(443))
	if _, err = gw.GRPCRoutes(namespace).Update(ctx, grpc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the GRPCRoute's new generation gets a Warning Event too", func() (bool, string) {
		got := warnings("GRPCRoute", "grpc")
		return len(got) == 2, fmt.Sprintf("%d Events", len(got))
	})
}

// applyRBAC creates the ClusterRoles and ClusterRoleBindings of
// config/rbac.yaml.
func applyRBAC(t *testing.T, core kubernetes.Interface) {
	t.Helper()
	manifest, err := os.ReadFile(filepath.Join("..", "..", "config", "rbac.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	docs := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(manifest), 4096)
	for {
		var u unstructured.Unstructured
		if err := docs.Decode(&u.Object); errors.Is(err, io.EOF) {
			return
		} else if err != nil {
			t.Fatal(err)
		}
		switch u.GetKind() {
		case "ClusterRole":
			var role rbacv1.ClusterRole
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &role); err != nil {
				t.Fatal(err)
			}
			_, err = core.RbacV1().ClusterRoles().Create(t.Context(), &role, metav1.CreateOptions{})
		case "ClusterRoleBinding":
			var binding rbacv1.ClusterRoleBinding
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &binding); err != nil {
				t.Fatal(err)
			}
			_, err = core.RbacV1().ClusterRoleBindings().Create(t.Context(), &binding, metav1.CreateOptions{})
		}
		if err != nil {
			t.Fatalf("%s %s: %v", u.GetKind(), u.GetName(), err)
		}
	}
}

func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	var last string
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		var ok bool
		if ok, last = cond(); ok {
			return
		}
	}
	t.Fatalf("%s: not after %v; last: %s", what, timeout, last)
}

// moduleDir is the directory of a module this module requires, as the go
// command reports it (the module cache; tests run offline).
func moduleDir(t *testing.T, module string) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", module).Output()
	if err != nil {
		t.Fatalf("go list -m %s: %v", module, err)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		t.Fatalf("go list -m %s gave no directory: run `go mod download %s`", module, module)
	}
	return dir
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

package server

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envoyproxy/gateway/proto/extension"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwclientv1 "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned/typed/apis/v1"

	"github.com/tailscale-gateway/tailscale-gateway/envoy-extension/internal/egsample"
	"github.com/tailscale-gateway/tailscale-gateway/envoy-extension/internal/translate"
)

// TestRouteReaderAgainstAPIServer runs NewRouteReader against a real
// kube-apiserver (envtest) with the Gateway API CRDs of the gateway-api
// module this module requires: the backendRef's port comes from the
// HTTPRoute there, and once the route is deleted the not-found fallback
// applies.
func TestRouteReaderAgainstAPIServer(t *testing.T) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("KUBEBUILDER_ASSETS is not set: run `make test`, which builds kube-apiserver, etcd and kubectl and sets it")
		}
		t.Skip("KUBEBUILDER_ASSETS is not set (the directory of kube-apiserver, etcd and kubectl); `make test` sets it")
	}
	env := &envtest.Environment{
		UseExistingCluster: ptr.To(false), // never a cluster from USE_EXISTING_CLUSTER
		CRDInstallOptions: envtest.CRDInstallOptions{
			Paths:              []string{filepath.Join(gatewayAPIDir(t), "config", "crd", "standard", "gateway.networking.k8s.io_httproutes.yaml")},
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
	const namespace = "tsgw-envtest"
	core, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := core.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating namespace %s: %v", namespace, err)
	}
	gw, err := gwclientv1.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The specification's HTTPRoute, with port 443: the TailscaleServices
	// lists tcp:80 and tcp:443, so only the route decides.
	pathPrefix := gwapiv1.PathMatchPathPrefix
	route := &gwapiv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "web-route"},
		Spec: gwapiv1.HTTPRouteSpec{
			CommonRouteSpec: gwapiv1.CommonRouteSpec{ParentRefs: []gwapiv1.ParentReference{{Name: "envoy-gateway"}}},
			Rules: []gwapiv1.HTTPRouteRule{{
				Matches: []gwapiv1.HTTPRouteMatch{{Path: &gwapiv1.HTTPPathMatch{Type: &pathPrefix, Value: ptr.To("/api/")}}},
				BackendRefs: []gwapiv1.HTTPBackendRef{{BackendRef: gwapiv1.BackendRef{BackendObjectReference: gwapiv1.BackendObjectReference{
					Group: ptr.To(gwapiv1.Group("gateway.tailscale.com")),
					Kind:  ptr.To(gwapiv1.Kind("TailscaleServices")),
					Name:  "production-web-service",
					Port:  ptr.To(gwapiv1.PortNumber(443)),
				}}}},
			}},
		},
	}
	if _, err := gw.HTTPRoutes(namespace).Create(ctx, route, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating HTTPRoute %s/%s: %v", namespace, route.Name, err)
	}

	routes, err := NewRouteReader(cfg)
	if err != nil {
		t.Fatal(err)
	}
	client := extension.NewEnvoyGatewayExtensionClient(serve(t, routes))
	request := &extension.PostClusterModifyRequest{
		Cluster: egsample.RouteCluster(namespace, route.Name),
		PostClusterContext: &extension.PostClusterExtensionContext{
			BackendExtensionResources: []*extension.ExtensionResource{{UnstructuredBytes: egsample.TailscaleServices(func(o map[string]any) {
				egsample.Metadata(o)["namespace"] = namespace
				egsample.VIPService(o)["ports"] = []any{"tcp:80", "tcp:443"}
			})}},
		},
	}

	resp, err := client.PostClusterModify(ctx, request)
	if err != nil {
		t.Fatalf("PostClusterModify with the HTTPRoute present: %v", err)
	}
	socket := resp.GetCluster().GetLoadAssignment().GetEndpoints()[0].GetLbEndpoints()[0].GetEndpoint().GetAddress().GetSocketAddress()
	if host, want := socket.GetAddress(), "production-web-service-vip."+namespace+".svc.cluster.local"; host != want {
		t.Errorf("address = %q, want %q", host, want)
	}
	if port := socket.GetPortValue(); port != 443 {
		t.Errorf("port = %d, want 443, the HTTPRoute backendRef's", port)
	}

	if err := gw.HTTPRoutes(namespace).Delete(ctx, route.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("deleting HTTPRoute %s/%s: %v", namespace, route.Name, err)
	}
	_, err = client.PostClusterModify(ctx, request)
	wantErr := "spec.vipService.ports lists the tcp ports tcp:80, tcp:443 and the HTTPRoute backendRef's port was not set or the route could not be read (the extension logs why); set the backendRef's port, or set the annotation " + translate.PortAnnotation
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), wantErr) {
		t.Errorf("PostClusterModify with the HTTPRoute deleted: error = %v, want InvalidArgument containing %q", err, wantErr)
	}
}

// gatewayAPIDir is the directory of the sigs.k8s.io/gateway-api module
// version this module requires, as the go command reports it.
func gatewayAPIDir(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/gateway-api").Output()
	if err != nil {
		var stderr string
		if exit, ok := err.(*exec.ExitError); ok {
			stderr = string(exit.Stderr)
		}
		t.Fatalf("go list -m sigs.k8s.io/gateway-api: %v\n%s", err, stderr)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		t.Fatal("go list -m sigs.k8s.io/gateway-api gave no directory: run `go mod download sigs.k8s.io/gateway-api`")
	}
	return dir
}

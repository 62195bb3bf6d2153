package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/envoyproxy/gateway/proto/extension"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/tailscale-gateway/tailscale-gateway/envoy-extension/internal/egsample"
)

// fakeRoutes is a RouteReader serving the routes it holds, by
// namespace/name; err, when set, is returned for every call.
type fakeRoutes struct {
	routes map[string]*gwapiv1.HTTPRoute
	err    error
}

func (f *fakeRoutes) GetHTTPRoute(_ context.Context, namespace, name string) (*gwapiv1.HTTPRoute, error) {
	if f.err != nil {
		return nil, f.err
	}
	if r, ok := f.routes[namespace+"/"+name]; ok {
		return r.DeepCopy(), nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Group: gwapiv1.GroupName, Resource: "httproutes"}, name)
}

// serve starts the real server on a loopback port and returns a connection
// to it, closed and stopped when the test ends. routes may be nil.
func serve(t *testing.T, routes ...RouteReader) *grpc.ClientConn {
	t.Helper()
	var reader RouteReader
	if len(routes) > 0 {
		reader = routes[0]
	}
	ext, err := NewExtension("cluster.local", reader, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(ext, insecure.NewCredentials())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		srv.Stop(context.Background())
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return conn
}

func TestPostClusterModifyOverGRPC(t *testing.T) {
	client := extension.NewEnvoyGatewayExtensionClient(serve(t))
	sent := egsample.Cluster()
	resp, err := client.PostClusterModify(t.Context(), &extension.PostClusterModifyRequest{
		Cluster: sent,
		PostClusterContext: &extension.PostClusterExtensionContext{
			BackendExtensionResources: []*extension.ExtensionResource{{UnstructuredBytes: egsample.TailscaleServices(nil)}},
		},
	})
	if err != nil {
		t.Fatalf("PostClusterModify: %v", err)
	}
	got := resp.GetCluster()
	if typ := got.GetType(); typ != clusterv3.Cluster_STRICT_DNS {
		t.Errorf("type = %v, want STRICT_DNS", typ)
	}
	if got.GetEdsClusterConfig() != nil {
		t.Errorf("eds_cluster_config = %v, want none", got.GetEdsClusterConfig())
	}
	if n := len(got.GetLoadAssignment().GetEndpoints()); n != 1 {
		t.Fatalf("load assignment has %d localities, want 1: %v", n, got.GetLoadAssignment())
	}
	locality := got.GetLoadAssignment().GetEndpoints()[0]
	if w := locality.GetLoadBalancingWeight().GetValue(); w == 0 {
		t.Errorf("locality has no weight, so locality weighted load balancing would send it nothing")
	}
	socket := locality.GetLbEndpoints()[0].GetEndpoint().GetAddress().GetSocketAddress()
	if host, want := socket.GetAddress(), "production-web-service-vip.default.svc.cluster.local"; host != want {
		t.Errorf("address = %q, want %q", host, want)
	}
	if port := socket.GetPortValue(); port != 80 {
		t.Errorf("port = %d, want 80", port)
	}
	// Everything but how endpoints are found must come back as sent.
	for _, c := range []*clusterv3.Cluster{sent, got} {
		c.ClusterDiscoveryType, c.EdsClusterConfig, c.LoadAssignment = nil, nil, nil
	}
	if diff := cmp.Diff(sent, got, protocmp.Transform()); diff != "" {
		t.Errorf("other fields changed (-sent +got):\n%s", diff)
	}
}

// webRoute is the specification's HTTPRoute default/web-route: rule 0 sends
// /api/ to TailscaleServices production-web-service on port 80.
func webRoute(port *gwapiv1.PortNumber) *gwapiv1.HTTPRoute {
	group := gwapiv1.Group("gateway.tailscale.com")
	kind := gwapiv1.Kind("TailscaleServices")
	return &gwapiv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web-route"},
		Spec: gwapiv1.HTTPRouteSpec{Rules: []gwapiv1.HTTPRouteRule{{
			BackendRefs: []gwapiv1.HTTPBackendRef{{BackendRef: gwapiv1.BackendRef{BackendObjectReference: gwapiv1.BackendObjectReference{
				Group: &group, Kind: &kind, Name: "production-web-service", Port: port,
			}}}},
		}}},
	}
}

// TestBackendRefPortOverGRPC sends the specification's case: a
// TailscaleServices with the ports tcp:80 and tcp:443 and no annotation,
// which the TailscaleServices alone cannot decide, and an HTTPRoute whose
// backendRef says port 80.
func TestBackendRefPortOverGRPC(t *testing.T) {
	port := func(p gwapiv1.PortNumber) *gwapiv1.PortNumber { return &p }
	twoPorts := egsample.TailscaleServices(func(o map[string]any) {
		egsample.VIPService(o)["ports"] = []any{"tcp:80", "tcp:443"}
	})
	tests := []struct {
		name     string
		routes   *fakeRoutes
		wantPort uint32
		wantErr  string
	}{{
		name:     "the backendRef's port",
		routes:   &fakeRoutes{routes: map[string]*gwapiv1.HTTPRoute{"default/web-route": webRoute(port(80))}},
		wantPort: 80,
	}, {
		name:     "the other port",
		routes:   &fakeRoutes{routes: map[string]*gwapiv1.HTTPRoute{"default/web-route": webRoute(port(443))}},
		wantPort: 443,
	}, {
		name:    "a port the backendRef does not give falls back to the TailscaleServices",
		routes:  &fakeRoutes{routes: map[string]*gwapiv1.HTTPRoute{"default/web-route": webRoute(nil)}},
		wantErr: "set the backendRef's port",
	}, {
		name:    "route not found falls back to the TailscaleServices",
		routes:  &fakeRoutes{},
		wantErr: "tcp:80, tcp:443",
	}, {
		name:    "API not reachable falls back to the TailscaleServices",
		routes:  &fakeRoutes{err: errors.New("connection refused")},
		wantErr: "tcp:80, tcp:443",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := extension.NewEnvoyGatewayExtensionClient(serve(t, tt.routes))
			resp, err := client.PostClusterModify(t.Context(), &extension.PostClusterModifyRequest{
				Cluster: egsample.Cluster(),
				PostClusterContext: &extension.PostClusterExtensionContext{
					BackendExtensionResources: []*extension.ExtensionResource{{UnstructuredBytes: twoPorts}},
				},
			})
			if tt.wantErr != "" {
				if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("PostClusterModify error = %v, want InvalidArgument containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("PostClusterModify: %v", err)
			}
			socket := resp.GetCluster().GetLoadAssignment().GetEndpoints()[0].GetLbEndpoints()[0].GetEndpoint().GetAddress().GetSocketAddress()
			if got := socket.GetPortValue(); got != tt.wantPort {
				t.Errorf("port = %d, want %d", got, tt.wantPort)
			}
			if host, want := socket.GetAddress(), "production-web-service-vip.default.svc.cluster.local"; host != want {
				t.Errorf("address = %q, want %q", host, want)
			}
		})
	}
}

func TestPostClusterModifyRefusesOverGRPC(t *testing.T) {
	client := extension.NewEnvoyGatewayExtensionClient(serve(t))
	noPorts := egsample.TailscaleServices(func(o map[string]any) { delete(o["spec"].(map[string]any), "vipService") })
	_, err := client.PostClusterModify(t.Context(), &extension.PostClusterModifyRequest{
		Cluster: egsample.Cluster(),
		PostClusterContext: &extension.PostClusterExtensionContext{
			BackendExtensionResources: []*extension.ExtensionResource{{UnstructuredBytes: noPorts}},
		},
	})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "no port known") {
		t.Errorf("PostClusterModify error = %v, want InvalidArgument saying no port is known", err)
	}
}

func TestPostClusterModifyWithoutResourcesOverGRPC(t *testing.T) {
	client := extension.NewEnvoyGatewayExtensionClient(serve(t))
	resp, err := client.PostClusterModify(t.Context(), &extension.PostClusterModifyRequest{
		Cluster:            egsample.Cluster(),
		PostClusterContext: &extension.PostClusterExtensionContext{},
	})
	if err != nil {
		t.Fatalf("PostClusterModify: %v", err)
	}
	if diff := cmp.Diff(egsample.Cluster(), resp.GetCluster(), protocmp.Transform()); diff != "" {
		t.Errorf("cluster changed (-sent +got):\n%s", diff)
	}
}

func TestOtherHooksReturnTheirInput(t *testing.T) {
	client := extension.NewEnvoyGatewayExtensionClient(serve(t))
	ctx := t.Context()
	route := &routev3.Route{Name: "httproute/default/web-route/rule/0/match/0/*"}
	vhost := &routev3.VirtualHost{Name: "default/eg/http/*", Domains: []string{"*"}}
	listener := &listenerv3.Listener{Name: "default/eg/http"}
	endpoints := &endpointv3.ClusterLoadAssignment{ClusterName: egsample.ClusterName}
	translate := &extension.PostTranslateModifyRequest{
		Clusters:  []*clusterv3.Cluster{egsample.Cluster()},
		Secrets:   []*tlsv3.Secret{{Name: "default/web-cert"}},
		Listeners: []*listenerv3.Listener{listener},
		Routes:    []*routev3.RouteConfiguration{{Name: "default/eg/http"}},
	}

	routeResp, err := client.PostRouteModify(ctx, &extension.PostRouteModifyRequest{Route: route})
	check(t, "PostRouteModify", err, route, routeResp.GetRoute())
	vhostResp, err := client.PostVirtualHostModify(ctx, &extension.PostVirtualHostModifyRequest{VirtualHost: vhost})
	check(t, "PostVirtualHostModify", err, vhost, vhostResp.GetVirtualHost())
	listenerResp, err := client.PostHTTPListenerModify(ctx, &extension.PostHTTPListenerModifyRequest{Listener: listener})
	check(t, "PostHTTPListenerModify", err, listener, listenerResp.GetListener())
	endpointsResp, err := client.PostEndpointsModify(ctx, &extension.PostEndpointsModifyRequest{LoadAssignment: endpoints})
	check(t, "PostEndpointsModify", err, endpoints, endpointsResp.GetLoadAssignment())
	translateResp, err := client.PostTranslateModify(ctx, translate)
	want := &extension.PostTranslateModifyResponse{Clusters: translate.Clusters, Secrets: translate.Secrets, Listeners: translate.Listeners, Routes: translate.Routes}
	check(t, "PostTranslateModify", err, want, translateResp)
}

func check(t *testing.T, hook string, err error, want, got proto.Message) {
	t.Helper()
	if err != nil {
		t.Errorf("%s: %v", hook, err)
		return
	}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("%s changed its input (-sent +got):\n%s", hook, diff)
	}
}

func TestHealth(t *testing.T) {
	client := healthpb.NewHealthClient(serve(t))
	for _, service := range []string{"", extension.EnvoyGatewayExtension_ServiceDesc.ServiceName} {
		resp, err := client.Check(t.Context(), &healthpb.HealthCheckRequest{Service: service})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("Check(%q) = %v, %v; want SERVING", service, resp, err)
		}
	}
}

func TestNewExtensionChecksClusterDomain(t *testing.T) {
	if _, err := NewExtension("cluster.local.", nil, slog.Default()); err == nil {
		t.Error("NewExtension accepted cluster domain \"cluster.local.\"")
	}
}

package translate

import (
	"encoding/json"
	"strings"
	"testing"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	"google.golang.org/protobuf/proto"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/tailscale-gateway/tailscale-gateway/envoy-extension/internal/egsample"
)

// FuzzCluster: whatever cluster, backend resource and route arrive (the
// hook's caller may be broken, the TailscaleServices and HTTPRoute are
// whatever users applied), Cluster never panics, never modifies the
// cluster passed in, and either fails with nothing else or returns a valid
// cluster whose one endpoint is the backend's in-cluster Service.
func FuzzCluster(f *testing.F) {
	seed := func(c *clusterv3.Cluster, resource []byte, domain string, route *gwapiv1.HTTPRoute) {
		rawCluster, err := proto.Marshal(c)
		if err != nil {
			f.Fatal(err)
		}
		var rawRoute []byte
		if route != nil {
			if rawRoute, err = json.Marshal(route); err != nil {
				f.Fatal(err)
			}
		}
		f.Add(rawCluster, resource, domain, rawRoute)
	}
	annotate := func(v string) func(map[string]any) {
		return func(o map[string]any) { egsample.Metadata(o)["annotations"] = map[string]any{PortAnnotation: v} }
	}
	ts := egsample.TailscaleServices(nil)
	seed(egsample.Cluster(), ts, "cluster.local", nil)
	seed(withPolicies(egsample.Cluster()), ts, "corp.example", nil)
	seed(withDNSExtension(egsample.Cluster()), ts, "cluster.local", nil)
	seed(egsample.Cluster(), egsample.TailscaleServices(func(o map[string]any) {
		egsample.VIPService(o)["ports"] = []any{"tcp:80", "tcp:443"}
		annotate("443")(o)
	}), "cluster.local", nil)
	seed(egsample.Cluster(), egsample.TailscaleServices(annotate("70000")), "cluster.local", nil)
	seed(egsample.Cluster(), egsample.TailscaleServices(func(o map[string]any) { o["status"] = map[string]any{"clusterServiceName": "web-vip"} }), "cluster.local", nil)
	seed(egsample.Cluster(), egsample.TailscaleServices(func(o map[string]any) { delete(o["spec"].(map[string]any), "vipService") }), "cluster.local", nil)
	seed(egsample.Cluster(), ts, "cluster.local", route([]gwapiv1.HTTPBackendRef{ref("production-web-service", "", 80)}))
	seed(egsample.Cluster(), ts, "cluster.local", route([]gwapiv1.HTTPBackendRef{ref("production-web-service", "", 8080)}))
	seed(egsample.Cluster(), ts, "cluster.local", route([]gwapiv1.HTTPBackendRef{ref("production-web-service", "", 0), serviceRef("other", 80)}))
	seed(egsample.Cluster(), ts, "cluster.local", route())
	seed(&clusterv3.Cluster{}, ts, "cluster.local", nil)
	seed(egsample.Cluster(), []byte(`apiVersion: v1`), "cluster.local", nil)
	seed(egsample.Cluster(), []byte(`{"apiVersion": "gateway.tailscale.com/v1alpha1", "kind": "TailscaleServices", "metadata": {"name": "a", "namespace": "b"}, "spec": {"vipService": {"ports": ["tcp:"]}}}`), "", nil)
	f.Fuzz(func(t *testing.T, rawCluster, resource []byte, domain string, rawRoute []byte) {
		in := &clusterv3.Cluster{}
		if err := proto.Unmarshal(rawCluster, in); err != nil {
			return
		}
		if CheckClusterDomain(domain) != nil {
			domain = "cluster.local" // the server checks its flag at start
		}
		var route *gwapiv1.HTTPRoute
		if len(rawRoute) > 0 {
			route = &gwapiv1.HTTPRoute{}
			if json.Unmarshal(rawRoute, route) != nil {
				route = nil
			}
		}
		original := proto.Clone(in)
		var resources [][]byte
		if len(resource) > 0 {
			resources = [][]byte{resource}
		}
		out, backend, err := Cluster(in, resources, domain, route)
		if !proto.Equal(original, in) {
			t.Fatal("the cluster passed in was modified")
		}
		if err != nil {
			if out != nil || backend != nil {
				t.Fatalf("an error (%v) with a cluster or backend", err)
			}
			return
		}
		if backend == nil {
			if out != in {
				t.Fatal("no backend, but not the cluster passed in")
			}
			return
		}
		if err := out.ValidateAll(); err != nil {
			t.Fatalf("invalid cluster returned: %v", err)
		}
		if backend.Port < 1 || backend.Port > 65535 || backend.Name == "" || backend.Namespace == "" {
			t.Fatalf("backend %+v", backend)
		}
		eps := out.GetLoadAssignment().GetEndpoints()
		if len(eps) != 1 || len(eps[0].GetLbEndpoints()) != 1 {
			t.Fatalf("endpoints %v, want one", eps)
		}
		sock := eps[0].GetLbEndpoints()[0].GetEndpoint().GetAddress().GetSocketAddress()
		if sock.GetAddress() != backend.Host(domain) || sock.GetPortValue() != backend.Port || !strings.HasSuffix(sock.GetAddress(), ".svc."+domain) {
			t.Fatalf("endpoint %v, want %s:%d", sock, backend.Host(domain), backend.Port)
		}
	})
}

package translate

import (
	"testing"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/tailscale-gateway/tailscale-gateway/envoy-extension/internal/egsample"
)

// TestPerBackendClusters: Envoy Gateway sends every TailscaleServices of a
// rule with each of the rule's per-backendRef clusters; each cluster takes
// only its own backendRef's.
func TestPerBackendClusters(t *testing.T) {
	named := func(name string) *clusterv3.Cluster {
		c := egsample.Cluster()
		c.Name = name
		return c
	}
	web := egsample.TailscaleServices(nil)
	other := egsample.TailscaleServices(func(o map[string]any) {
		egsample.Metadata(o)["name"] = "other"
		egsample.VIPService(o)["ports"] = []any{"tcp:443"}
	})
	// toDNS, with the load assignment named after the cluster, as the
	// rewrite names it.
	asDNS := func(name, host string, port uint32) *clusterv3.Cluster {
		c := toDNS(named(name), host, port)
		c.LoadAssignment.ClusterName = name
		return c
	}
	mixed := route([]gwapiv1.HTTPBackendRef{serviceRef("plain", 8080), ref("production-web-service", "", 80), ref("other", "", 443)})
	tests := []struct {
		name        string
		cluster     *clusterv3.Cluster
		want        *clusterv3.Cluster
		wantBackend *Backend
	}{{
		name:    "a Service's cluster: unchanged",
		cluster: named("httproute/default/web-route/rule/0/backend/0"),
		want:    named("httproute/default/web-route/rule/0/backend/0"),
	}, {
		name:        "the first TailscaleServices' cluster",
		cluster:     named("httproute/default/web-route/rule/0/backend/1"),
		want:        asDNS("httproute/default/web-route/rule/0/backend/1", webHost, 80),
		wantBackend: &Backend{Namespace: "default", Name: "production-web-service", Port: 80},
	}, {
		name:        "the second TailscaleServices' cluster",
		cluster:     named("httproute/default/web-route/rule/0/backend/2"),
		want:        asDNS("httproute/default/web-route/rule/0/backend/2", "other-vip.default.svc.cluster.local", 443),
		wantBackend: &Backend{Namespace: "default", Name: "other", Port: 443},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, backend, err := Cluster(tt.cluster, [][]byte{web, other}, "cluster.local", mixed)
			if err != nil {
				t.Fatalf("Cluster: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("cluster (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantBackend, backend); diff != "" {
				t.Errorf("backend (-want +got):\n%s", diff)
			}
		})
	}

	// The rule-wide cluster of the same rule is refused: one cluster, three
	// backends.
	if _, _, err := Cluster(named("httproute/default/web-route/rule/0"), [][]byte{web, other}, "cluster.local", mixed); err == nil {
		t.Error("the rule-wide cluster of a rule with two TailscaleServices and a Service was not refused")
	}
}

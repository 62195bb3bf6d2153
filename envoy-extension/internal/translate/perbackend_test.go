package translate

import (
	"strings"
	"testing"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/tailscale-gateway/tailscale-gateway/envoy-extension/internal/egsample"
)

// TestPerBackendClusters: Envoy Gateway sends every TailscaleServices of a
// rule with each of the rule's per-backendRef clusters. A Service's is left
// alone; a TailscaleServices' is refused, Envoy Gateway routing nothing to
// it.
func TestPerBackendClusters(t *testing.T) {
	named := func(name string) *clusterv3.Cluster {
		c := egsample.Cluster()
		c.Name = name
		return c
	}
	web := egsample.TailscaleServices(nil)
	mixed := route([]gwapiv1.HTTPBackendRef{serviceRef("plain", 8080), ref("production-web-service", "", 80)})

	got, backend, err := Cluster(named("httproute/default/web-route/rule/0/backend/0"), [][]byte{web}, "cluster.local", mixed)
	if err != nil || backend != nil {
		t.Fatalf("the Service's cluster: backend %v, error %v; want it unchanged", backend, err)
	}
	if diff := cmp.Diff(named("httproute/default/web-route/rule/0/backend/0"), got, protocmp.Transform()); diff != "" {
		t.Errorf("the Service's cluster changed (-want +got):\n%s", diff)
	}

	_, _, err = Cluster(named("httproute/default/web-route/rule/0/backend/1"), [][]byte{web}, "cluster.local", mixed)
	for _, want := range []string{"spec.rules[0] of HTTPRoute default/web-route gets a cluster per backendRef", "backendRefs[1] (TailscaleServices default/production-web-service) would get no traffic", "a rule of its own"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("the TailscaleServices' cluster: error %v, want one containing %q", err, want)
		}
	}

	// Without the route nothing tells the backendRefs apart: the
	// TailscaleServices' own rules give the port, as before.
	if _, backend, err := Cluster(named("httproute/default/web-route/rule/0/backend/1"), [][]byte{web}, "cluster.local", nil); err != nil || backend == nil || backend.Port != 80 {
		t.Errorf("without the route: backend %v, error %v; want port 80 from the TailscaleServices", backend, err)
	}
}

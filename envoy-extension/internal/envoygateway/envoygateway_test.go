package envoygateway

import (
	"fmt"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	"k8s.io/apimachinery/pkg/types"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
)

const (
	namespace = "production" // the specification's TailscaleServices' namespace
	gateway   = "envoy-gateway"
	// The cluster Envoy Gateway builds for rule 0 of the specification's
	// HTTPRoute (internal/gatewayapi/helpers.go).
	ruleCluster = "httproute/" + namespace + "/web-route/rule/0"
	serviceHost = "production-web-service-vip." + namespace + ".svc.cluster.local"
)

// TestEnvoyGateway runs the specification's HTTPRoute through the real
// Envoy Gateway v1.9.1 with this extension and reads the result over xDS.
func TestEnvoyGateway(t *testing.T) {
	bin := needEnvoyGateway(t)
	ctx := t.Context()
	c, cfg, kubeconfig := startAPIServer(t)
	createGateway(ctx, t, c, namespace)

	ts := specObject(t, "02-complete-example.yaml", tailscaleServicesKind)
	mustCreate(ctx, t, c, ts)
	t.Logf("TailscaleServices %s/%s: %v", ts.GetNamespace(), ts.GetName(), ts.Object["status"])

	ext := startExtension(t, cfg)
	home := t.TempDir()
	certgen(t, bin, home)
	eg := startEnvoyGateway(t, bin, home, writeConfig(t, ext.port()), kubeconfig)
	xds := watchXDS(t, fmt.Sprintf("127.0.0.1:%d", xdsPort), xdsTLS(t, home), namespace, gateway)

	route := specObject(t, "03-httproute.yaml", gwapiv1.SchemeGroupVersion.WithKind("HTTPRoute"))
	route.SetNamespace(namespace)
	mustCreate(ctx, t, c, route)

	state := func() (xdsSnapshot, string) {
		s, err := xds.snapshot()
		if exit := eg.exited(); exit != nil {
			t.Fatal(exit)
		}
		if err != nil {
			t.Fatalf("the xDS stream ended: %v", err)
		}
		cl := s.clusters[ruleCluster]
		host, port := target(cl)
		routed, rc, _ := routeTo(s, "/api/")
		return s, fmt.Sprintf("cluster %s: type %v, target %s:%d; /api/ routed to %q by %q; %d clusters, %d listeners, %d route configs",
			ruleCluster, cl.GetType(), host, port, routed, rc, len(s.clusters), len(s.listeners), len(s.routes))
	}
	eventually(t, 2*time.Minute, "xDS: the rule's cluster targets the TailscaleServices' Service on port 80", func() (bool, string) {
		s, desc := state()
		host, port := target(s.clusters[ruleCluster])
		routed, _, _ := routeTo(s, "/api/")
		return host == serviceHost && port == 80 && routed == ruleCluster, desc
	})
	eventually(t, 30*time.Second, "HTTPRoute ResolvedRefs True", func() (bool, string) {
		var r gwapiv1.HTTPRoute
		if err := c.Get(ctx, types.NamespacedName{Namespace: namespace, Name: "web-route"}, &r); err != nil {
			return false, err.Error()
		}
		cond, current := routeCondition(&r, string(gwapiv1.RouteConditionResolvedRefs))
		return current && cond.Status == "True", fmt.Sprintf("%+v", r.Status.Parents)
	})
	_, desc := state()
	t.Log(desc)
}

// target is the one endpoint of a cluster whose endpoints are inline
// (the extension's STRICT_DNS), or nothing.
func target(c *clusterv3.Cluster) (string, uint32) {
	eps := c.GetLoadAssignment().GetEndpoints()
	if len(eps) != 1 || len(eps[0].GetLbEndpoints()) != 1 {
		return "", 0
	}
	sa := eps[0].GetLbEndpoints()[0].GetEndpoint().GetAddress().GetSocketAddress()
	return sa.GetAddress(), sa.GetPortValue()
}

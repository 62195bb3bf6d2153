package envoygateway

import (
	"fmt"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
)

const failOpenNamespace = "failopen"

// One Gateway, two routes: good reaches TailscaleServices web on a port it
// lists; bad names a port web does not list, which the extension refuses.
const failOpenObjects = `
apiVersion: gateway.tailscale.com/v1alpha1
kind: TailscaleServices
metadata: {name: web, namespace: failopen}
spec:
  selector: {}
  vipService: {ports: ["tcp:80"]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: good, namespace: failopen}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /good}}]
    backendRefs:
    - {group: gateway.tailscale.com, kind: TailscaleServices, name: web, port: 80}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: bad, namespace: failopen}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /bad}}]
    backendRefs:
    - {group: gateway.tailscale.com, kind: TailscaleServices, name: web, port: 8443}
`

// TestEnvoyGatewayFailOpen runs the configuration README recommends,
// failOpen true: a refused cluster is left as Envoy Gateway built it
// (EDS, no endpoint: Envoy answers 503) and the rest of the Gateway is
// translated and served.
func TestEnvoyGatewayFailOpen(t *testing.T) {
	st := startStackFailOpen(t, true, failOpenNamespace)
	createGateway(t.Context(), t, st.c, failOpenNamespace, "gw")
	xds := st.watch(t, failOpenNamespace, "gw")
	for _, o := range decodeAll(t, failOpenObjects) {
		if o.GetKind() == "TailscaleServices" {
			st.createTailscaleServices(t, o)
		} else {
			mustCreate(t.Context(), t, st.c, o)
		}
	}
	const (
		good = "httproute/failopen/good/rule/0"
		bad  = "httproute/failopen/bad/rule/0"
	)
	eventually(t, 2*time.Minute, "xDS: good points at web-vip:80, bad is served as built, with no endpoint", func() (bool, string) {
		s := st.snapshot(t, xds)
		host, port := target(s.clusters[good])
		goodRouted, _, _ := routeTo(s, "/good")
		badCluster, ok := s.clusters[bad]
		badRouted, _, _ := routeTo(s, "/bad")
		eds, hasEDS := s.endpoints[edsName(badCluster)]
		return host == "web-vip.failopen.svc.cluster.local" && port == 80 && goodRouted == good &&
				ok && badCluster.GetType() == clusterv3.Cluster_EDS && hasEDS && lbEndpoints(eds) == 0 && badRouted == bad,
			fmt.Sprintf("good %s:%d routed %q; bad %v type %v routed %q, endpoints %v", host, port, goodRouted, ok, badCluster.GetType(), badRouted, eds)
	})
	const refusal = "the backendRef's port in HTTPRoute failopen/bad spec.rules[0] is 8443 but spec.vipService.ports lists only the tcp ports tcp:80"
	if !st.eg.logContains(refusal) {
		t.Errorf("Envoy Gateway's log does not have the refusal %q", refusal)
	}
	if st.eg.logContains(skippedPublishing) {
		t.Errorf("Envoy Gateway's log says it skipped publishing a translation, which failOpen true should not")
	}
}

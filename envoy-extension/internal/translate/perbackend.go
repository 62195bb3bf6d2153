package translate

import (
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// forBackend narrows what Envoy Gateway sent with a per-backendRef cluster
// (httproute/<ns>/<name>/rule/<i>/backend/<n>) to that backendRef. Envoy
// Gateway v1.9.1 builds such clusters when a rule needs them (a
// backendRef with filters, say: internal/ir/xds.go NeedsClusterPerSetting)
// and sends every custom backend resource of the rule with each of them
// (internal/xds/translator/translator.go:762-825), the cluster of a
// Service among them. So:
//   - when backendRefs[n] is not a TailscaleServices, the cluster is
//     another backend's: other is true and the cluster is to be left as
//     Envoy Gateway built it;
//   - when it is one, only the resource of that TailscaleServices is kept,
//     so that several TailscaleServices in one rule each get their cluster.
//
// Without the route (not read, or not the one named) or for a rule-wide
// cluster, resources are returned as they are.
func forBackend(resources [][]byte, clusterName string, route *gwapiv1.HTTPRoute) (kept [][]byte, other bool) {
	rule, ok := ParseClusterName(clusterName)
	if !ok || rule.Backend == NoBackend || route == nil || route.Namespace != rule.Namespace || route.Name != rule.Name {
		return resources, false
	}
	if rule.Rule >= len(route.Spec.Rules) || rule.Backend >= len(route.Spec.Rules[rule.Rule].BackendRefs) {
		return resources, false // BackendRefPort says the route has changed
	}
	ref := route.Spec.Rules[rule.Rule].BackendRefs[rule.Backend].BackendObjectReference
	if ref.Group == nil || string(*ref.Group) != group || ref.Kind == nil || string(*ref.Kind) != kind {
		return nil, true
	}
	for _, raw := range resources {
		ts, err := parseTailscaleServices(raw)
		if err != nil {
			continue // refused below, with the reason, if nothing matches
		}
		if refersTo(ref, route.Namespace, ts.Metadata.Namespace, ts.Metadata.Name) {
			return [][]byte{raw}, false
		}
	}
	return resources, false
}

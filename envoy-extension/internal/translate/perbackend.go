package translate

import (
	"fmt"

	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// forBackend judges a per-backendRef cluster
// (httproute/<ns>/<name>/rule/<i>/backend/<n>). Envoy Gateway v1.9.1 builds
// such clusters when a rule needs them (a backendRef with filters, a
// Service without endpoints beside others: internal/ir/xds.go
// NeedsClusterPerSetting) and sends every custom backend resource of the
// rule with each of them (internal/xds/translator/translator.go:762-825),
// the cluster of a Service among them. So:
//   - when backendRefs[n] is not a TailscaleServices, the cluster is
//     another backend's: other is true, and it is to be left as built;
//   - when it is one, it is refused: Envoy Gateway leaves custom backends
//     out of the route's weighted clusters (route.go
//     buildXdsWeightedRouteAction keeps only settings with endpoints), so
//     the cluster would get no traffic, silently.
//
// Without the route (not read, or not the one named) or for a rule-wide
// cluster it says nothing.
func forBackend(clusterName string, route *gwapiv1.HTTPRoute) (other bool, err error) {
	rule, ok := ParseClusterName(clusterName)
	if !ok || rule.Backend == NoBackend || route == nil || route.Namespace != rule.Namespace || route.Name != rule.Name {
		return false, nil
	}
	if rule.Rule >= len(route.Spec.Rules) || rule.Backend >= len(route.Spec.Rules[rule.Rule].BackendRefs) {
		return false, nil // BackendRefPort says the route has changed
	}
	ref := route.Spec.Rules[rule.Rule].BackendRefs[rule.Backend].BackendObjectReference
	if ref.Group == nil || string(*ref.Group) != group || ref.Kind == nil || string(*ref.Kind) != kind {
		return true, nil
	}
	return false, fmt.Errorf("spec.rules[%d] of HTTPRoute %s/%s gets a cluster per backendRef (a backendRef has filters, or a Service in it has no endpoints), and Envoy Gateway v1.9.1 leaves a TailscaleServices' cluster out of such a rule's weighted clusters, so backendRefs[%d] (TailscaleServices %s) would get no traffic; give the TailscaleServices backendRef a rule of its own, with its filters on the rule rather than on the backendRef",
		rule.Rule, route.Namespace, route.Name, rule.Backend, refName(ref, route.Namespace))
}

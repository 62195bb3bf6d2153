package translate

import (
	"fmt"

	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// AloneInRule refuses a rule in which the TailscaleServices namespace/name
// shares the cluster with another backendRef that takes traffic (weight
// not 0). Envoy Gateway v1.9.1 builds one cluster for such a rule
// whenever it can (a Service with endpoints beside a custom backend is
// one: internal/ir/xds.go NeedsClusterPerSetting), with the Service's
// endpoints in EDS, out of this extension's sight; pointing that cluster
// at the TailscaleServices would silently take the other backends'
// traffic. When Envoy Gateway does build a cluster per backendRef
// (…/rule/<i>/backend/<n>), each gets its weight and this check is not
// needed. A rule that is not there is left to BackendRefPort to report.
func AloneInRule(route *gwapiv1.HTTPRoute, ruleIdx int, namespace, name string) error {
	if route == nil || ruleIdx < 0 || ruleIdx >= len(route.Spec.Rules) {
		return nil
	}
	for i, ref := range route.Spec.Rules[ruleIdx].BackendRefs {
		if refersTo(ref.BackendObjectReference, route.Namespace, namespace, name) {
			continue
		}
		if ref.Weight != nil && *ref.Weight == 0 {
			continue // takes no traffic, whatever the cluster
		}
		return fmt.Errorf("spec.rules[%d].backendRefs[%d] of HTTPRoute %s/%s (%s %s) shares the rule with TailscaleServices %s/%s, and Envoy Gateway builds one cluster for the rule, which this extension can point only at the TailscaleServices: it would take that backend's traffic; give the TailscaleServices backendRef a rule of its own, or set the other's weight to 0 (Envoy Gateway v1.9.1 cannot split a rule's traffic by weight between a TailscaleServices and other backends)",
			ruleIdx, i, route.Namespace, route.Name, describeRef(ref.BackendObjectReference), refName(ref.BackendObjectReference, route.Namespace), namespace, name)
	}
	return nil
}

// describeRef is a backendRef's kind as Gateway API defaults it: Service of
// the core group.
func describeRef(ref gwapiv1.BackendObjectReference) string {
	k := "Service"
	if ref.Kind != nil && *ref.Kind != "" {
		k = string(*ref.Kind)
	}
	if ref.Group != nil && *ref.Group != "" {
		return k + "." + string(*ref.Group)
	}
	return k
}

func refName(ref gwapiv1.BackendObjectReference, routeNamespace string) string {
	ns := routeNamespace
	if ref.Namespace != nil && *ref.Namespace != "" {
		ns = string(*ref.Namespace)
	}
	return ns + "/" + string(ref.Name)
}

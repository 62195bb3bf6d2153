package routewarn

import (
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// routeKind is a route kind whose TailscaleServices backendRefs Envoy
// Gateway v1.9.1 drops before xDS (internal/gatewayapi/route.go, see
// README.md "What Envoy Gateway v1.9.1 does"). All are
// gateway.networking.k8s.io/v1, the version Envoy Gateway v1.9.1 watches
// them in (internal/provider/kubernetes/controller.go), so a kind not
// served in v1 is one Envoy Gateway does not serve either.
type routeKind struct {
	kind  string
	new   func() client.Object
	rules func(client.Object) [][]gwapiv1.BackendObjectReference
}

var routeKinds = []routeKind{
	{"GRPCRoute", func() client.Object { return &gwapiv1.GRPCRoute{} }, func(o client.Object) [][]gwapiv1.BackendObjectReference {
		var rules [][]gwapiv1.BackendObjectReference
		for _, r := range o.(*gwapiv1.GRPCRoute).Spec.Rules {
			var refs []gwapiv1.BackendObjectReference
			for _, b := range r.BackendRefs {
				refs = append(refs, b.BackendObjectReference)
			}
			rules = append(rules, refs)
		}
		return rules
	}},
	{"TCPRoute", func() client.Object { return &gwapiv1.TCPRoute{} }, func(o client.Object) [][]gwapiv1.BackendObjectReference {
		var rules [][]gwapiv1.BackendObjectReference
		for _, r := range o.(*gwapiv1.TCPRoute).Spec.Rules {
			rules = append(rules, objectRefs(r.BackendRefs))
		}
		return rules
	}},
	{"TLSRoute", func() client.Object { return &gwapiv1.TLSRoute{} }, func(o client.Object) [][]gwapiv1.BackendObjectReference {
		var rules [][]gwapiv1.BackendObjectReference
		for _, r := range o.(*gwapiv1.TLSRoute).Spec.Rules {
			rules = append(rules, objectRefs(r.BackendRefs))
		}
		return rules
	}},
	{"UDPRoute", func() client.Object { return &gwapiv1.UDPRoute{} }, func(o client.Object) [][]gwapiv1.BackendObjectReference {
		var rules [][]gwapiv1.BackendObjectReference
		for _, r := range o.(*gwapiv1.UDPRoute).Spec.Rules {
			rules = append(rules, objectRefs(r.BackendRefs))
		}
		return rules
	}},
}

func objectRefs(refs []gwapiv1.BackendRef) []gwapiv1.BackendObjectReference {
	out := make([]gwapiv1.BackendObjectReference, len(refs))
	for i, b := range refs {
		out[i] = b.BackendObjectReference
	}
	return out
}

package translate

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// NoBackend is the backend index of a cluster Envoy Gateway built for a
// whole rule rather than for one of its backendRefs.
const NoBackend = -1

// RouteRule is what the name of a cluster Envoy Gateway built for an
// HTTPRoute rule says: the route, the index of the rule in spec.rules and,
// when Envoy Gateway built one cluster per backendRef, the index of the
// backendRef in the rule's backendRefs (NoBackend otherwise).
type RouteRule struct {
	Namespace string
	Name      string
	Rule      int
	Backend   int
}

// String is namespace/name, as kubectl shows the route.
func (r RouteRule) String() string { return r.Namespace + "/" + r.Name }

// ParseClusterName reads a cluster name Envoy Gateway v1.9.1 gives the
// destination of an HTTPRoute rule, httproute/<namespace>/<name>/rule/<i>
// (internal/gatewayapi/helpers.go:564-566), or of one backendRef of it,
// .../rule/<i>/backend/<n> (helpers.go:568-570, route.go:774, with n the
// index in the rule's backendRefs; the translator uses these names when a
// rule needs a cluster per backendRef: internal/ir/xds.go:1109-1121,
// 2138-2164, internal/xds/translator/translator.go:797-825). ok is false for
// any other name.
func ParseClusterName(name string) (rule RouteRule, ok bool) {
	parts := strings.Split(name, "/")
	if len(parts) != 5 && len(parts) != 7 {
		return RouteRule{}, false
	}
	if parts[0] != "httproute" || parts[1] == "" || parts[2] == "" || parts[3] != "rule" {
		return RouteRule{}, false
	}
	rule = RouteRule{Namespace: parts[1], Name: parts[2], Backend: NoBackend}
	var err error
	if rule.Rule, err = index(parts[4]); err != nil {
		return RouteRule{}, false
	}
	if len(parts) == 7 {
		if parts[5] != "backend" {
			return RouteRule{}, false
		}
		if rule.Backend, err = index(parts[6]); err != nil {
			return RouteRule{}, false
		}
	}
	return rule, true
}

// index is a non-negative decimal index as fmt's %d writes it.
func index(s string) (int, error) {
	i, err := strconv.Atoi(s)
	if err != nil || i < 0 || strconv.Itoa(i) != s {
		return 0, fmt.Errorf("%q is not an index", s)
	}
	return i, nil
}

// ErrPortNotSet is wrapped by BackendRefPort's error when the backendRef
// that refers to the TailscaleServices has no port. Gateway API allows that
// for kinds other than Service, so callers fall back to the
// TailscaleServices' own port rules.
var ErrPortNotSet = errors.New("the backendRef has no port")

// BackendRefPort is the port of the backendRef in rule ruleIdx of route
// (and, unless backendIdx is NoBackend, at index backendIdx of that rule)
// that refers to the TailscaleServices namespace/name. Several backendRefs
// to it in the rule are fine as long as they give the same port: they share
// the rule's one cluster.
func BackendRefPort(route *gwapiv1.HTTPRoute, ruleIdx, backendIdx int, namespace, name string) (uint32, error) {
	if route == nil {
		return 0, errors.New("no HTTPRoute to read the backendRef's port from")
	}
	routeName := route.Namespace + "/" + route.Name
	if ruleIdx < 0 || ruleIdx >= len(route.Spec.Rules) {
		return 0, fmt.Errorf("HTTPRoute %s has %d rules, so no spec.rules[%d], which Envoy Gateway built this cluster for; the route has probably just changed and Envoy Gateway will translate it again", routeName, len(route.Spec.Rules), ruleIdx)
	}
	refs := route.Spec.Rules[ruleIdx].BackendRefs
	first, last := 0, len(refs)
	if backendIdx != NoBackend {
		if backendIdx < 0 || backendIdx >= len(refs) {
			return 0, fmt.Errorf("spec.rules[%d] of HTTPRoute %s has %d backendRefs, so no backendRefs[%d], which Envoy Gateway built this cluster for; the route has probably just changed and Envoy Gateway will translate it again", ruleIdx, routeName, len(refs), backendIdx)
		}
		first, last = backendIdx, backendIdx+1
	}
	var (
		port    uint32
		field   string
		matched bool
	)
	for i := first; i < last; i++ {
		ref := refs[i].BackendObjectReference
		if !refersTo(ref, route.Namespace, namespace, name) {
			continue
		}
		f := fmt.Sprintf("spec.rules[%d].backendRefs[%d].port", ruleIdx, i)
		if ref.Port == nil {
			return 0, fmt.Errorf("%s of HTTPRoute %s is not set; set it to the port of TailscaleServices %s/%s to use (one of spec.vipService.ports): %w", f, routeName, namespace, name, ErrPortNotSet)
		}
		p := uint32(*ref.Port)
		if p < 1 || p > 65535 {
			return 0, fmt.Errorf("%s of HTTPRoute %s is %d, not a port number from 1 to 65535; fix it (the API server should have refused it)", f, routeName, p)
		}
		if matched && p != port {
			return 0, fmt.Errorf("%s and %s of HTTPRoute %s both refer to TailscaleServices %s/%s, with the ports %d and %d, but a rule gets one cluster, so one port; split them into separate rules", field, f, routeName, namespace, name, port, p)
		}
		port, field, matched = p, f, true
	}
	if !matched {
		where := fmt.Sprintf("spec.rules[%d]", ruleIdx)
		if backendIdx != NoBackend {
			where = fmt.Sprintf("spec.rules[%d].backendRefs[%d]", ruleIdx, backendIdx)
		}
		return 0, fmt.Errorf("%s of HTTPRoute %s has no backendRef with group %s, kind %s, name %s in namespace %s, yet Envoy Gateway sent that TailscaleServices with the cluster of that rule; the route has probably just changed and Envoy Gateway will translate it again", where, routeName, group, kind, name, namespace)
	}
	return port, nil
}

// refersTo reports whether ref names the TailscaleServices namespace/name,
// from a route in routeNamespace. Group and kind default as Gateway API
// defines: the core group, kind Service.
func refersTo(ref gwapiv1.BackendObjectReference, routeNamespace, namespace, name string) bool {
	refNamespace := routeNamespace
	if ref.Namespace != nil && *ref.Namespace != "" {
		refNamespace = string(*ref.Namespace)
	}
	return ref.Group != nil && string(*ref.Group) == group &&
		ref.Kind != nil && string(*ref.Kind) == kind &&
		string(ref.Name) == name && refNamespace == namespace
}

package translate

import (
	"errors"
	"fmt"

	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Backend is a TailscaleServices as Envoy reaches it inside the cluster.
type Backend struct {
	Namespace string
	Name      string
	// Service is the in-cluster Service the operator reports in
	// status.clusterServiceName; empty when the status does not say yet.
	Service string
	// Port is the VIP service port, which is also the in-cluster Service's.
	Port uint32
}

// String is namespace/name, as kubectl shows it.
func (b *Backend) String() string { return b.Namespace + "/" + b.Name }

// ServiceName is the in-cluster Service of the TailscaleServices: the one
// its status names, or, before the operator has written it, <name>-vip.
// The rule is needed beside the status: Envoy Gateway translates again only
// when a backend resource's generation changes, never for a status write,
// so a route translated before the Service was in place would otherwise
// stay pointed at nothing (docs/design-notes.md, "The in-cluster Service's
// name"). TestServiceName pins the rule; the operator's planner tests pin
// the same one.
func (b *Backend) ServiceName() string {
	if b.Service != "" {
		return b.Service
	}
	return b.Name + "-vip"
}

// Host is the in-cluster Service's DNS name.
func (b *Backend) Host(clusterDomain string) string {
	return b.ServiceName() + "." + b.Namespace + ".svc." + clusterDomain
}

// backendOf reads the one TailscaleServices of a rule from the resources
// Envoy Gateway sent, and the port: the backendRef's in route when route is
// the HTTPRoute clusterName names, else (or when that backendRef has no port)
// the TailscaleServices' own (port.go).
func backendOf(resources [][]byte, clusterName string, route *gwapiv1.HTTPRoute) (*Backend, error) {
	if len(resources) > 1 {
		// Envoy Gateway builds one cluster per rule and sends every custom
		// backendRef of the rule with it (internal/gatewayapi/route.go:343-345,
		// 475-479); one cluster cannot be pointed at two Services.
		return nil, fmt.Errorf("%d backend resources came with the one cluster of a route rule, and a cluster can reach only one TailscaleServices; give each TailscaleServices backendRef a rule of its own, with no other backendRef or extension filter", len(resources))
	}
	ts, err := parseTailscaleServices(resources[0])
	if err != nil {
		return nil, err
	}
	b := &Backend{Namespace: ts.Metadata.Namespace, Name: ts.Metadata.Name, Service: ts.Status.ClusterServiceName}
	if ts.clusterServiceOff() {
		return nil, fmt.Errorf("TailscaleServices %s has spec.clusterService.enabled: false, so it has no in-cluster Service %s for Envoy to reach; remove that setting to use it as a backendRef", b, b.ServiceName())
	}
	if rule, ok := ParseClusterName(clusterName); ok && route != nil && route.Namespace == rule.Namespace && route.Name == rule.Name {
		if rule.Backend == NoBackend {
			if err := AloneInRule(route, rule.Rule, b.Namespace, b.Name); err != nil {
				return nil, fmt.Errorf("TailscaleServices %s: %w", b, err)
			}
		}
		b.Port, err = BackendRefPort(route, rule.Rule, rule.Backend, b.Namespace, b.Name)
		if err == nil {
			if err := ts.checkListed(b.Port, fmt.Sprintf("the backendRef's port in HTTPRoute %s/%s spec.rules[%d]", route.Namespace, route.Name, rule.Rule)); err != nil {
				return nil, fmt.Errorf("TailscaleServices %s: %w", b, err)
			}
			return b, nil
		}
		if !errors.Is(err, ErrPortNotSet) {
			return nil, fmt.Errorf("TailscaleServices %s: %w", b, err)
		}
		// No port in the backendRef: the TailscaleServices' own rules.
	}
	if b.Port, err = ts.port(); err != nil {
		return nil, fmt.Errorf("TailscaleServices %s: %w", b, err)
	}
	return b, nil
}

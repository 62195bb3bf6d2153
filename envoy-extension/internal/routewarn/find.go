// Package routewarn makes visible what Envoy Gateway v1.9.1 does silently
// to a TailscaleServices backendRef in a route other than an HTTPRoute: it
// never calls the extension for it, so the rule's cluster has no endpoints
// while the route's status says ResolvedRefs True. A watcher puts a Warning
// Event on each such route, once per generation. It writes no status: the
// route's belongs to Envoy Gateway, the TailscaleServices' to the operator.
package routewarn

import (
	"fmt"
	"strings"

	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Reason is the reason of the Warning Event.
const Reason = "UnsupportedBackend"

const (
	group = "gateway.tailscale.com"
	kind  = "TailscaleServices"
)

// noteLimit is the largest note of an events.k8s.io/v1 Event: "Maximal
// length of the note is 1kB" (k8s.io/api events/v1 types.go).
const noteLimit = 1024

// Ref is a TailscaleServices backendRef: where it is in the route, and the
// TailscaleServices it names.
type Ref struct {
	Rule, Backend   int
	Namespace, Name string
}

func (r Ref) String() string {
	return fmt.Sprintf("spec.rules[%d].backendRefs[%d] (TailscaleServices %s/%s)", r.Rule, r.Backend, r.Namespace, r.Name)
}

// Find returns the TailscaleServices backendRefs among rules, the
// backendRefs of each rule of a route in namespace, in order. A backendRef
// without a namespace is in the route's.
func Find(namespace string, rules [][]gwapiv1.BackendObjectReference) []Ref {
	var refs []Ref
	for i, rule := range rules {
		for j, b := range rule {
			if b.Group == nil || string(*b.Group) != group || b.Kind == nil || string(*b.Kind) != kind {
				continue
			}
			ns := namespace
			if b.Namespace != nil && *b.Namespace != "" {
				ns = string(*b.Namespace)
			}
			refs = append(refs, Ref{Rule: i, Backend: j, Namespace: ns, Name: string(b.Name)})
		}
	}
	return refs
}

// Note is the Event's message for the refs (at least one) of a route of
// kind routeKind in namespace: where they are, why they get nothing, and the fix. One
// Event per route, not per backendRef, because the events library folds
// Events that differ only in their note into one series
// (k8s.io/client-go tools/events getKey), keeping the first note. Refs
// that would take it over the API server's limit are counted, not listed.
func Note(routeKind, namespace string, refs []Ref) string {
	backend, gets := "this backend", "gets"
	if len(refs) > 1 {
		backend, gets = "these backends", "get"
	}
	var services []string
	seen := map[string]bool{}
	for _, r := range refs {
		s := r.Name + "-vip"
		if r.Namespace != namespace {
			s = r.Namespace + "/" + s
		}
		if !seen[s] {
			seen[s] = true
			services = append(services, s)
		}
	}
	service := "the in-cluster Service " + strings.Join(services, ", ")
	if len(services) > 1 {
		service = "the in-cluster Services " + strings.Join(services, ", ")
	}
	fix := fmt.Sprintf(": TailscaleServices backends work on HTTPRoute only: Envoy Gateway v1.9.1 does not call the extension for %s, so %s %s no endpoints; use an HTTPRoute, or a Service backendRef to %s",
		routeKind, backend, gets, service)
	for listed := len(refs); listed > 0; listed-- {
		var where []string
		for _, r := range refs[:listed] {
			where = append(where, r.String())
		}
		if listed < len(refs) {
			where = append(where, fmt.Sprintf("and %d more", len(refs)-listed))
		}
		if note := strings.Join(where, ", ") + fix; len(note) <= noteLimit || listed == 1 {
			if len(note) > noteLimit {
				note = note[:noteLimit]
			}
			return note
		}
	}
	return fix[2:]
}

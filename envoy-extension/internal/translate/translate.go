// Package translate decides what becomes of the cluster Envoy Gateway builds
// for an HTTPRoute rule whose backendRef is a TailscaleServices: it is
// pointed at the TailscaleServices' in-cluster Service, <name>-vip, so that
// traffic goes Envoy → Service → the project's proxies, which apply the
// TailscaleServices' load balancing.
//
// The port comes from the HTTPRoute's backendRef (route.go) when the caller
// could read the route, else from the TailscaleServices (port.go).
//
// It is pure: no I/O, no clock, no globals.
package translate

import (
	"errors"
	"fmt"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Cluster returns the cluster Envoy Gateway built for a rule whose backendRef
// is a TailscaleServices, pointed at that TailscaleServices' in-cluster
// Service, and which TailscaleServices and port that is. resources are the
// unstructured JSON objects of post_cluster_context.backend_extension_resources.
// The cluster passed in is not modified.
//
// route is the HTTPRoute the cluster's name names
// (httproute/<namespace>/<name>/rule/<i>[/backend/<n>]), as read from the
// API server, or nil when it could not be read. With it, the port is the one
// the rule's backendRef to the TailscaleServices gives (BackendRefPort);
// without it, or when that backendRef gives none, the TailscaleServices'
// annotation or single tcp port (port.go). A route that is not the one the
// cluster name names is ignored.
//
// The cluster of one backendRef of a rule (…/backend/<n>) that is not a
// TailscaleServices is returned unchanged, with a nil Backend; one that is
// is refused, as Envoy Gateway would route nothing to it (perbackend.go).
//
// With no resources it returns the cluster unchanged and a nil Backend: when
// several extensions are configured, Envoy Gateway calls each with only the
// resources of the kinds it registered, which may be none
// (internal/extension/registry/composite_hook_client.go:109-123).
func Cluster(in *clusterv3.Cluster, resources [][]byte, clusterDomain string, route *gwapiv1.HTTPRoute) (*clusterv3.Cluster, *Backend, error) {
	if in == nil {
		return nil, nil, errors.New("the request has no cluster; Envoy Gateway always sends the one it built, so the caller is not Envoy Gateway or is broken")
	}
	if len(resources) == 0 {
		return in, nil, nil
	}
	other, err := forBackend(in.GetName(), route)
	if err != nil {
		return nil, nil, err
	}
	if other {
		return in, nil, nil
	}
	backend, err := backendOf(resources, in.GetName(), route)
	if err != nil {
		return nil, nil, err
	}
	out, err := pointAt(in, backend.Host(clusterDomain), backend.Port)
	if err != nil {
		return nil, nil, fmt.Errorf("TailscaleServices %s: %w", backend, err)
	}
	return out, backend, nil
}

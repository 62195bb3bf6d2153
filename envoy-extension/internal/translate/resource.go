package translate

import (
	"encoding/json"
	"fmt"
)

// The one kind this extension serves. Envoy Gateway sends the resource as it
// lists it from the API server, apiVersion and all
// (internal/provider/kubernetes/filters.go:45-63).
const (
	group      = "gateway.tailscale.com"
	version    = "v1alpha1"
	kind       = "TailscaleServices"
	apiVersion = group + "/" + version
)

// tailscaleServices holds the fields of a TailscaleServices this extension
// reads. It is decoded from JSON rather than with the operator's API types so
// that this module does not depend on the operator's module.
type tailscaleServices struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name        string            `json:"name"`
		Namespace   string            `json:"namespace"`
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
	Spec struct {
		VIPService *struct {
			Ports []string `json:"ports"`
		} `json:"vipService"`
		ClusterService *struct {
			Enabled *bool `json:"enabled"`
		} `json:"clusterService"`
	} `json:"spec"`
	Status struct {
		ClusterServiceName string `json:"clusterServiceName"`
	} `json:"status"`
}

func parseTailscaleServices(raw []byte) (*tailscaleServices, error) {
	var ts tailscaleServices
	if err := json.Unmarshal(raw, &ts); err != nil {
		return nil, fmt.Errorf("the backend resource is not a Kubernetes object in JSON (%v); Envoy Gateway sends each one as unstructured JSON", err)
	}
	if ts.APIVersion != apiVersion || ts.Kind != kind {
		return nil, fmt.Errorf("the backend resource is apiVersion %q kind %q, not %s %s; list only group %s, version %s, kind %s in this extension's extensionManager.backendResources, and nothing in its resources",
			ts.APIVersion, ts.Kind, apiVersion, kind, group, version, kind)
	}
	if ts.Metadata.Name == "" {
		return nil, fmt.Errorf("the %s has no metadata.name; Envoy Gateway should send the whole object it read from the API server", kind)
	}
	if ts.Metadata.Namespace == "" {
		return nil, fmt.Errorf("%s %q has no metadata.namespace; Envoy Gateway should send the whole object it read from the API server", kind, ts.Metadata.Name)
	}
	return &ts, nil
}

// specPorts is spec.vipService.ports, or nothing when vipService is unset.
func (ts *tailscaleServices) specPorts() []string {
	if ts.Spec.VIPService == nil {
		return nil
	}
	return ts.Spec.VIPService.Ports
}

// clusterServiceOff is true when spec.clusterService.enabled is false: the
// operator then makes no in-cluster Service, the one way Envoy reaches a
// TailscaleServices.
func (ts *tailscaleServices) clusterServiceOff() bool {
	cs := ts.Spec.ClusterService
	return cs != nil && cs.Enabled != nil && !*cs.Enabled
}

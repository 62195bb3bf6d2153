package planner

import (
	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/backend"
)

// Pool is a TailscaleEndpoints as the planner needs it.
type Pool struct {
	Name           string                         `json:"name"`
	Namespace      string                         `json:"namespace,omitempty"`
	Labels         map[string]string              `json:"labels,omitempty"`
	Tags           []string                       `json:"tags,omitempty"`
	ConnectionType gatewayv1alpha1.ConnectionType `json:"connectionType,omitempty"`
	Ports          []gatewayv1alpha1.ProxyPort    `json:"ports,omitempty"`
	Machines       []gatewayv1alpha1.Machine      `json:"machines,omitempty"`
	// Backend is where the pool's machines forward, as resolved.
	Backend backend.Result `json:"backend"`
}

// Service is a TailscaleServices with the pools its selector chose.
type Service struct {
	Object *gatewayv1alpha1.TailscaleServices `json:"object"`
	// Name of the VIP service when discovery attached to one the spec does
	// not name; empty means VIPServiceName(Object).
	Name string `json:"name,omitempty"`
	// Pools selected, sorted by name.
	Pools []Pool `json:"pools"`
	// CABundles are what the caBundles of external services give, by
	// external service name (ReadCABundle); a caBundle absent here counts
	// as a missing Secret.
	CABundles map[string]CABundle `json:"caBundles,omitempty"`
	// Withhold keeps the pools from advertising the VIP service in the
	// tailnet (they still serve it in the cluster): the services controller
	// has not confirmed that this TailscaleServices may use the name, or
	// found it taken by a service it may not share (a Conflict). Hosting a
	// service is joining it, so it waits for that confirmation.
	Withhold bool `json:"withhold,omitempty"`
}

// VIPName is the name of the VIP service the TailscaleServices uses.
func (s Service) VIPName() string {
	if s.Name != "" {
		return s.Name
	}
	return VIPServiceName(s.Object)
}

// hostsVIPService is true for pools whose machines accept tailnet clients.
func (p *Pool) hostsVIPService() bool {
	return p.ConnectionType != gatewayv1alpha1.ConnectionTypeEgress
}

// tcpPorts are the pool's TCP ports.
func (p *Pool) tcpPorts() []int32 {
	var ports []int32
	for _, pp := range p.Ports {
		if pp.Protocol == "" || pp.Protocol == gatewayv1alpha1.ProtocolTCP {
			ports = append(ports, pp.Port)
		}
	}
	return ports
}

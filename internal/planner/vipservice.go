package planner

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/coordination"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tsapi"
)

// VIPServiceName is spec.vipService.name, or svc:<metadata.name>.
func VIPServiceName(ts *gatewayv1alpha1.TailscaleServices) string {
	if v := ts.Spec.VIPService; v != nil && v.Name != "" {
		return string(v.Name)
	}
	return "svc:" + ts.Name
}

// DNSName is the MagicDNS name of a VIP service in a tailnet domain.
func DNSName(serviceName, domain string) string {
	if domain == "" {
		return ""
	}
	return strings.TrimPrefix(serviceName, "svc:") + "." + domain
}

// VIPPorts are spec.vipService.ports, or the union of the selected pools'
// ports, sorted.
func VIPPorts(s Service) []string {
	if v := s.Object.Spec.VIPService; v != nil && len(v.Ports) > 0 {
		ports := make([]string, len(v.Ports))
		for i, p := range v.Ports {
			ports[i] = string(p)
		}
		return ports
	}
	set := map[string]bool{}
	for _, p := range s.Pools {
		for _, pp := range p.Ports {
			set[fmt.Sprintf("%s:%d", strings.ToLower(string(protocolOrTCP(pp.Protocol))), pp.Port)] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// DesiredVIPService is the VIP service the TailscaleServices asks for, with
// the registry annotation beside the user's own annotations.
func DesiredVIPService(s Service, reg coordination.Registry) tsapi.VIPService {
	spec := s.Object.Spec.VIPService
	if spec == nil {
		spec = &gatewayv1alpha1.VIPServiceSpec{}
	}
	annotations := maps.Clone(spec.Annotations)
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[coordination.Annotation] = reg.Render()
	tags := make([]string, len(spec.Tags))
	for i, t := range spec.Tags {
		tags[i] = string(t)
	}
	return tsapi.VIPService{
		Name:        s.VIPName(),
		Comment:     spec.Comment,
		Annotations: annotations,
		Ports:       VIPPorts(s),
		Tags:        tags,
	}
}

// RegistryEntry is how this operator's TailscaleServices appears in
// registries: who it is, whether it lets others join, and which of its
// machines host the service (HostDevices).
func RegistryEntry(operatorID string, s Service) coordination.Entry {
	ts := s.Object
	return coordination.Entry{
		OperatorID: operatorID,
		Object:     ts.Namespace + "/" + ts.Name,
		Sharing:    ts.Spec.VIPService != nil && ts.Spec.VIPService.Sharing != nil && ts.Spec.VIPService.Sharing.Allow,
		Devices:    HostDevices(s.Pools),
	}
}

func protocolOrTCP(p gatewayv1alpha1.Protocol) gatewayv1alpha1.Protocol {
	if p == "" {
		return gatewayv1alpha1.ProtocolTCP
	}
	return p
}

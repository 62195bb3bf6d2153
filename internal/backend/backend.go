// Package backend decides, without I/O, where a pool's machines forward
// their connections: the ready endpoints of a Kubernetes Service, or fixed
// addresses. The endpoints controller uses it for the pool's Ready
// condition; the proxy-config planner uses it to render backends.
package backend

import (
	"cmp"
	"fmt"
	"net"
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
)

// Problem says why a backend is missing or incomplete. Message names the
// object and port so a user can fix it without reading code. Reason is
// one of gatewayv1alpha1's ReasonServiceNotFound, ReasonServicePortNotFound,
// ReasonNoReadyEndpoints or ReasonNoPorts: it becomes the reason of the
// pool's Ready condition.
type Problem struct {
	Reason  string
	Message string
}

func (p *Problem) Error() string { return p.Reason + ": " + p.Message }

// Target is where connections accepted on one port of a pool's machines go.
type Target struct {
	// Port the machines listen on, and its protocol.
	Port     int32
	Protocol gatewayv1alpha1.Protocol
	// Addresses are "host:port" backends, sorted and without duplicates;
	// empty when the port has no ready backend.
	Addresses []string
}

// Result is a pool's resolved backend.
type Result struct {
	// Service is the Service the pool forwards to; "" for fixed addresses.
	Service string
	// Targets, one per port the machines listen on, sorted by port then protocol.
	Targets []Target
}

// Addresses returns the backends of a listening port, or nil.
func (r Result) Addresses(port int32, protocol gatewayv1alpha1.Protocol) []string {
	for _, t := range r.Targets {
		if t.Port == port && t.Protocol == protocolOrTCP(protocol) {
			return t.Addresses
		}
	}
	return nil
}

// ServiceName is the Service a pool forwards to: spec.backend.service, or
// the Service named like the pool when spec.backend is omitted. It is ""
// when the pool forwards to fixed addresses.
func ServiceName(ep *gatewayv1alpha1.TailscaleEndpoints) string {
	switch b := ep.Spec.Backend; {
	case b == nil:
		return ep.Name
	case b.Service != nil:
		return b.Service.Name
	default:
		return ""
	}
}

// Resolve returns where the pool's machines forward. svc is the Service
// named by ServiceName (nil if it does not exist; ignored for fixed
// addresses) and slices are EndpointSlices of the namespace (those not
// labelled for svc are ignored).
//
// Ports: every port in spec.proxy.ports. A service backend with a port
// sends all of them to that one Service port; without a port, and for the
// default backend, each goes to the Service port with the same number and
// protocol; fixed addresses receive
// every port as written. Without spec.proxy.ports the machines listen on
// the backend's own ports (the service port, every Service port, or the
// addresses' ports).
//
// The Result holds whatever resolved; a non-nil Problem says what did not.
func Resolve(ep *gatewayv1alpha1.TailscaleEndpoints, svc *corev1.Service, slices []discoveryv1.EndpointSlice) (Result, *Problem) {
	b := ep.Spec.Backend
	if b != nil && b.Service == nil {
		return resolveAddresses(ep.Spec.Proxy.Ports, b.Addresses), nil
	}
	name := ServiceName(ep)
	res := Result{Service: name}
	if svc == nil || svc.Name != name {
		return res, &Problem{gatewayv1alpha1.ReasonServiceNotFound, fmt.Sprintf("Service %s/%s does not exist", ep.Namespace, name)}
	}
	eps := readyEndpoints(svc, slices)
	if b != nil && b.Service.Port != 0 {
		return resolveServicePort(ep.Spec.Proxy.Ports, svc, b.Service.Port, eps)
	}
	return resolveSameNumberedPorts(ep.Spec.Proxy.Ports, svc, eps)
}

// resolveAddresses sends every listening port to the fixed addresses.
func resolveAddresses(ports []gatewayv1alpha1.ProxyPort, addrs []gatewayv1alpha1.HostPort) Result {
	list := make([]string, 0, len(addrs))
	for _, a := range addrs {
		list = append(list, string(a))
	}
	list = sortedUnique(list)
	if len(ports) == 0 {
		ports = portsOfAddresses(list)
	}
	res := Result{}
	for _, p := range ports {
		res.Targets = append(res.Targets, Target{Port: p.Port, Protocol: protocolOrTCP(p.Protocol), Addresses: list})
	}
	sortTargets(res.Targets)
	return res
}

func portsOfAddresses(addrs []string) []gatewayv1alpha1.ProxyPort {
	var ports []gatewayv1alpha1.ProxyPort
	seen := map[int32]bool{}
	for _, a := range addrs {
		_, p, err := net.SplitHostPort(a)
		n, perr := strconv.ParseInt(p, 10, 32)
		if err != nil || perr != nil || seen[int32(n)] {
			continue
		}
		seen[int32(n)] = true
		ports = append(ports, gatewayv1alpha1.ProxyPort{Port: int32(n), Protocol: gatewayv1alpha1.ProtocolTCP})
	}
	return ports
}

func protocolOrTCP(p gatewayv1alpha1.Protocol) gatewayv1alpha1.Protocol {
	if p == "" {
		return gatewayv1alpha1.ProtocolTCP
	}
	return p
}

func sortedUnique(list []string) []string {
	slices.Sort(list)
	return slices.Compact(list)
}

func sortTargets(ts []Target) {
	slices.SortFunc(ts, func(a, b Target) int {
		return cmp.Or(cmp.Compare(a.Port, b.Port), cmp.Compare(a.Protocol, b.Protocol))
	})
}

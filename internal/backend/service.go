package backend

import (
	"fmt"
	"net"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
)

// portKey identifies an EndpointSlice port: the Service port's name (""
// for a Service's single unnamed port) and protocol. EndpointSlices carry
// the target port number under the Service port's name, which is how a
// Service port maps to a target port that may differ per endpoint.
type portKey struct {
	name     string
	protocol corev1.Protocol
}

// readyEndpoints collects, per Service port, the ready "ip:targetPort"
// addresses of the Service's EndpointSlices. An ExternalName Service has
// no endpoints: its name stands for every port.
func readyEndpoints(svc *corev1.Service, slices []discoveryv1.EndpointSlice) map[portKey][]string {
	out := map[portKey][]string{}
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		for _, sp := range svc.Spec.Ports {
			k := portKey{sp.Name, protocolOf(sp.Protocol)}
			out[k] = []string{net.JoinHostPort(svc.Spec.ExternalName, strconv.Itoa(int(sp.Port)))}
		}
		return out
	}
	for i := range slices {
		s := &slices[i]
		if s.Labels[discoveryv1.LabelServiceName] != svc.Name || s.Namespace != svc.Namespace {
			continue
		}
		addSlice(out, s)
	}
	for k, v := range out {
		out[k] = sortedUnique(v)
	}
	return out
}

func addSlice(out map[portKey][]string, s *discoveryv1.EndpointSlice) {
	for _, p := range s.Ports {
		if p.Port == nil {
			continue
		}
		k := portKey{deref(p.Name), protocolOf(deref(p.Protocol))}
		for _, e := range s.Endpoints {
			// A nil ready condition means ready (see EndpointConditions).
			if e.Conditions.Ready != nil && !*e.Conditions.Ready {
				continue
			}
			for _, ip := range e.Addresses {
				out[k] = append(out[k], net.JoinHostPort(ip, strconv.Itoa(int(*p.Port))))
			}
		}
	}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func protocolOf(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return p
}

// resolveServicePort sends every listening port to one Service port.
func resolveServicePort(ports []gatewayv1alpha1.ProxyPort, svc *corev1.Service, port int32, eps map[portKey][]string) (Result, *Problem) {
	res := Result{Service: svc.Name}
	sp, ok := findServicePort(svc, port, "")
	if !ok {
		return res, &Problem{gatewayv1alpha1.ReasonServicePortNotFound, fmt.Sprintf("Service %s/%s has no port %d (spec.backend.service.port names the Service's port, not its target port)", svc.Namespace, svc.Name, port)}
	}
	if len(ports) == 0 {
		ports = []gatewayv1alpha1.ProxyPort{{Port: port, Protocol: gatewayv1alpha1.Protocol(protocolOf(sp.Protocol))}}
	}
	addrs := eps[portKey{sp.Name, protocolOf(sp.Protocol)}]
	for _, p := range ports {
		res.Targets = append(res.Targets, Target{Port: p.Port, Protocol: protocolOrTCP(p.Protocol), Addresses: addrs})
	}
	sortTargets(res.Targets)
	if len(addrs) == 0 {
		return res, noReady(svc, sp)
	}
	return res, nil
}

// resolveSameNumberedPorts sends each listening port to the Service port
// with the same number and protocol.
func resolveSameNumberedPorts(ports []gatewayv1alpha1.ProxyPort, svc *corev1.Service, eps map[portKey][]string) (Result, *Problem) {
	res := Result{Service: svc.Name}
	if len(ports) == 0 {
		ports = servicePortsAsProxyPorts(svc)
	}
	if len(ports) == 0 {
		return res, &Problem{gatewayv1alpha1.ReasonNoPorts, fmt.Sprintf("neither spec.proxy.ports nor Service %s/%s declares a port", svc.Namespace, svc.Name)}
	}
	var problem *Problem
	for _, p := range ports {
		proto := protocolOrTCP(p.Protocol)
		sp, ok := findServicePort(svc, p.Port, corev1.Protocol(proto))
		if !ok {
			problem = firstProblem(problem, &Problem{gatewayv1alpha1.ReasonServicePortNotFound, fmt.Sprintf("Service %s/%s has no %s port %d for the pool's port %d", svc.Namespace, svc.Name, proto, p.Port, p.Port)})
			continue
		}
		addrs := eps[portKey{sp.Name, protocolOf(sp.Protocol)}]
		res.Targets = append(res.Targets, Target{Port: p.Port, Protocol: proto, Addresses: addrs})
		if len(addrs) == 0 {
			problem = firstProblem(problem, noReady(svc, sp))
		}
	}
	sortTargets(res.Targets)
	return res, problem
}

func servicePortsAsProxyPorts(svc *corev1.Service) []gatewayv1alpha1.ProxyPort {
	var out []gatewayv1alpha1.ProxyPort
	for _, sp := range svc.Spec.Ports {
		out = append(out, gatewayv1alpha1.ProxyPort{Port: sp.Port, Protocol: gatewayv1alpha1.Protocol(protocolOf(sp.Protocol)), Name: sp.Name})
	}
	return out
}

// findServicePort finds a Service port by number and, unless protocol is
// "", by protocol. Without a protocol, TCP is preferred.
func findServicePort(svc *corev1.Service, port int32, protocol corev1.Protocol) (corev1.ServicePort, bool) {
	var found *corev1.ServicePort
	for i := range svc.Spec.Ports {
		sp := &svc.Spec.Ports[i]
		if sp.Port != port || (protocol != "" && protocolOf(sp.Protocol) != protocol) {
			continue
		}
		if found == nil || protocolOf(sp.Protocol) == corev1.ProtocolTCP {
			found = sp
		}
	}
	if found == nil {
		return corev1.ServicePort{}, false
	}
	return *found, true
}

func noReady(svc *corev1.Service, sp corev1.ServicePort) *Problem {
	return &Problem{gatewayv1alpha1.ReasonNoReadyEndpoints, fmt.Sprintf("Service %s/%s has no ready endpoint for port %d", svc.Namespace, svc.Name, sp.Port)}
}

// firstProblem keeps the first problem found, except that a missing port
// (a configuration error) outranks endpoints not ready yet.
func firstProblem(have, next *Problem) *Problem {
	if have == nil || (have.Reason == gatewayv1alpha1.ReasonNoReadyEndpoints && next.Reason == gatewayv1alpha1.ReasonServicePortNotFound) {
		return next
	}
	return have
}

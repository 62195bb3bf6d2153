package translate

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// PortAnnotation on a TailscaleServices names the port Envoy Gateway's routes
// reach it on when the HTTPRoute's backendRef cannot be read or gives no
// port. Envoy Gateway v1.9.1 does not pass the HTTPRoute backendRef's port to
// the extension: a custom backend's destination keeps only its name and weight
// (internal/gatewayapi/route.go:2948-2952), so the port is in neither the
// cluster nor the resource, and the server reads the route itself (route.go).
// Without the annotation the fallback is the one tcp port of
// spec.vipService.ports.
const PortAnnotation = "gateway.tailscale.com/envoy-gateway-port"

// port is the VIP service port Envoy should connect to.
func (ts *tailscaleServices) port() (uint32, error) {
	tcp, err := tcpPorts(ts.specPorts())
	if err != nil {
		return 0, err
	}
	if value, ok := ts.Metadata.Annotations[PortAnnotation]; ok {
		return annotatedPort(value, tcp)
	}
	switch len(tcp) {
	case 1:
		return tcp[0], nil
	case 0:
		return 0, fmt.Errorf("no port known: the HTTPRoute backendRef's port was not set or the route could not be read (the extension logs why), and spec.vipService.ports lists no tcp port; set the backendRef's port, list the port in spec.vipService.ports (for example tcp:80) or set the annotation %s (for example \"80\")", PortAnnotation)
	default:
		return 0, fmt.Errorf("spec.vipService.ports lists the tcp ports %s and the HTTPRoute backendRef's port was not set or the route could not be read (the extension logs why); set the backendRef's port, or set the annotation %s to the one its routes use", joinPorts(tcp), PortAnnotation)
	}
}

// annotatedPort checks the annotation's value against the ports the VIP
// service lists, when it lists any (when it lists none they come from the
// selected endpoints, which this extension cannot see).
func annotatedPort(value string, tcp []uint32) (uint32, error) {
	port, err := parsePort(value)
	if err != nil {
		return 0, fmt.Errorf("annotation %s: %w", PortAnnotation, err)
	}
	if len(tcp) > 0 && !slices.Contains(tcp, port) {
		return 0, fmt.Errorf("annotation %s is %d but spec.vipService.ports lists only the tcp ports %s; set it to one of them or add tcp:%d to spec.vipService.ports", PortAnnotation, port, joinPorts(tcp), port)
	}
	return port, nil
}

// checkListed checks a port taken from elsewhere (what) against the tcp
// ports spec.vipService.ports lists, when it lists any.
func (ts *tailscaleServices) checkListed(port uint32, what string) error {
	tcp, err := tcpPorts(ts.specPorts())
	if err != nil {
		return err
	}
	if len(tcp) > 0 && !slices.Contains(tcp, port) {
		return fmt.Errorf("%s is %d but spec.vipService.ports lists only the tcp ports %s; use one of them or add tcp:%d to spec.vipService.ports", what, port, joinPorts(tcp), port)
	}
	return nil
}

// tcpPorts are the distinct tcp ports of spec.vipService.ports, in order.
// udp ports are left out: Envoy reaches the Service over TCP.
func tcpPorts(specPorts []string) ([]uint32, error) {
	var tcp []uint32
	for i, p := range specPorts {
		protocol, number, _ := strings.Cut(p, ":")
		port, err := parsePort(number)
		if err != nil || (protocol != "tcp" && protocol != "udp") {
			return nil, fmt.Errorf("spec.vipService.ports[%d] is %q, not tcp:PORT or udp:PORT; fix it (the API server should have refused it)", i, p)
		}
		if protocol == "tcp" && !slices.Contains(tcp, port) {
			tcp = append(tcp, port)
		}
	}
	return tcp, nil
}

func parsePort(s string) (uint32, error) {
	port, err := strconv.ParseUint(s, 10, 16)
	if err != nil || port == 0 {
		return 0, fmt.Errorf("%q is not a port number from 1 to 65535", s)
	}
	return uint32(port), nil
}

func joinPorts(ports []uint32) string {
	s := make([]string, len(ports))
	for i, p := range ports {
		s[i] = "tcp:" + strconv.FormatUint(uint64(p), 10)
	}
	return strings.Join(s, ", ")
}

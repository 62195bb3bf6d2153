package planner

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
	"github.com/tailscale-gateway/tailscale-gateway/internal/proxyconfig"
)

// AdminAddress is where every proxy pod serves /healthz and /readyz (and
// /metrics too, unless the pod serves them on --metrics-address, as the
// StatefulSet asks: pool.MetricsPort).
var AdminAddress = ":" + strconv.Itoa(pool.AdminPort)

// Health check of a pool's own backend, which the specification leaves to
// us: a TCP connect, quick enough to notice a dead endpoint within seconds.
var poolHealthCheck = proxyconfig.HealthCheck{
	Enabled:            true,
	Protocol:           proxyconfig.ProtocolTCP,
	Interval:           proxyconfig.Duration{Duration: 5 * time.Second},
	Timeout:            proxyconfig.Duration{Duration: 2 * time.Second},
	HealthyThreshold:   1,
	UnhealthyThreshold: 2,
}

// PoolServiceName names the service behind a pool's own port.
func PoolServiceName(port int32) string { return fmt.Sprintf("pool:%d", port) }

// VIPServiceKey names the service behind one port of a VIP service in a
// proxy configuration and in the machines' reports.
func VIPServiceKey(serviceName string, port int32) string {
	return fmt.Sprintf("%s:%d", serviceName, port)
}

// PoolConfig is the configuration of one pool's proxies: each pool port on
// the tailnet, forwarding to the pool's backend, and each port of every VIP
// service that selects the pool, balanced over all its backends, on the
// tailnet and, when it has an in-cluster Service (ClusterServiceCheck), on
// a pod port. ports are those pod ports, by TailscaleServices name, as the
// pool's EndpointSlices must list them. The error is a
// TailscaleServices whose strategy the proxies do not know, which the
// CRD's enum should have refused.
func PoolConfig(p Pool, controlURL string, services []Service) (cfg proxyconfig.Config, ports map[string][]ClusterPort, err error) {
	cfg = proxyconfig.Config{
		Admin:   &proxyconfig.Admin{Address: AdminAddress},
		Tailnet: &proxyconfig.Tailnet{ControlURL: controlURL, Tags: p.Tags},
	}
	for _, port := range p.tcpPorts() {
		addrs := p.Backend.Addresses(port, gatewayv1alpha1.ProtocolTCP)
		if len(addrs) == 0 {
			continue // nothing to forward to; other hosts eject this machine
		}
		svc := proxyconfig.Service{Name: PoolServiceName(port), Strategy: proxyconfig.StrategyRoundRobin, HealthCheck: poolHealthCheck}
		for _, a := range addrs {
			svc.Backends = append(svc.Backends, proxyconfig.Backend{Name: a, Address: a})
		}
		cfg.Services = append(cfg.Services, svc)
		cfg.Listeners = append(cfg.Listeners, proxyconfig.Listener{
			Address: listenAddr(port), Network: proxyconfig.NetworkTailnet, Service: svc.Name,
		})
	}
	hosted, err := hostedPorts(p, services)
	if err != nil {
		return proxyconfig.Config{}, nil, err
	}
	// Pod ports are allocated over every hosted port, served in the cluster
	// or not, so that turning one service's in-cluster Service off or on
	// moves no other service's pod port.
	podPorts := allocatePodPorts(hosted)
	ports = map[string][]ClusterPort{}
	for _, h := range hosted {
		name := h.service.Object.Name
		cfg.Services = append(cfg.Services, h.config)
		if !h.service.Withhold {
			cfg.Listeners = append(cfg.Listeners, proxyconfig.Listener{
				Address: listenAddr(h.port), Network: proxyconfig.NetworkTailnet, VIPService: h.service.VIPName(), Service: h.config.Name,
			})
		}
		if ClusterServiceCheck(h.service) != nil {
			continue // no in-cluster Service: no pod port, no EndpointSlice
		}
		ports[name] = append(ports[name], ClusterPort{Name: ClusterPortName(h.port), Port: h.port, PodPort: podPorts[h.config.Name], Service: h.config.Name})
		cfg.Listeners = append(cfg.Listeners, proxyconfig.Listener{
			// In-cluster clients, through the TailscaleServices' Service.
			Address: listenAddr(podPorts[h.config.Name]), Network: proxyconfig.NetworkPod, Service: h.config.Name,
		})
	}
	return cfg, ports, nil
}

// hostedPort is one port of a VIP service a pool hosts.
type hostedPort struct {
	service Service
	port    int32
	config  proxyconfig.Service
}

// hostedPorts are the VIP service ports the pool's machines serve: every
// TCP port of every service selecting it, if the pool accepts tailnet
// clients and the port has something to balance over.
func hostedPorts(p Pool, services []Service) ([]hostedPort, error) {
	if !p.hostsVIPService() {
		return nil, nil
	}
	var out []hostedPort
	for _, s := range services {
		for _, port := range vipTCPPorts(s) {
			svc, err := vipService(s, p.Name, port)
			if err != nil {
				return nil, err
			}
			if len(svc.Backends) == 0 {
				continue // nothing to balance over: do not advertise
			}
			out = append(out, hostedPort{service: s, port: port, config: svc})
		}
	}
	return out, nil
}

// vipService is one port of a VIP service as the host pool balances it:
// its own pool's backend directly (skipping a hop), every other selected
// pool's machines through the tailnet, and the external services.
func vipService(s Service, host string, port int32) (proxyconfig.Service, error) {
	strategy, err := dataPlaneStrategy(specStrategy(s.Object))
	if err != nil {
		return proxyconfig.Service{}, fmt.Errorf("%s/%s: %w", s.Object.Namespace, s.Object.Name, err)
	}
	lbSpec := s.Object.Spec.LoadBalancing
	svc := proxyconfig.Service{
		Name:        VIPServiceKey(s.VIPName(), port),
		Strategy:    strategy,
		HealthCheck: healthCheckOf(lbSpec),
	}
	if lbSpec != nil && lbSpec.FailoverConfig != nil {
		svc.FailbackDelay = durationOf(lbSpec.FailoverConfig.FailbackDelay)
	}
	for _, p := range s.Pools {
		if !p.serves(port) {
			continue
		}
		weight, tier := weightOf(s.Object, p.Name), tierOf(s.Object, p.Name)
		if p.Name == host {
			svc.Backends = append(svc.Backends, ownBackends(p, port, weight, tier)...)
			continue
		}
		for _, m := range p.Machines {
			if ip := tailnetIPv4(m); ip != "" {
				svc.Backends = append(svc.Backends, proxyconfig.Backend{
					Name: PoolBackendName(p.Name, m.Name), Address: net.JoinHostPort(ip, strconv.Itoa(int(port))),
					Group: p.Name, Weight: weight, Tier: tier, Network: proxyconfig.NetworkTailnet,
				})
			}
		}
	}
	svc.Backends = append(svc.Backends, externalBackends(s, port)...)
	return svc, nil
}

// ownBackends are the host pool's own backends, dialed directly (skipping
// the hop through itself). One entry per machine, each on one of the
// pool's addresses in turn, like every other pool contributes its
// machines: round-robin and least-connections then give every pool's
// machines the same share whichever pool hosts the VIP service. With more
// addresses than machines (or machines not known yet), one entry per
// address, so that every address gets traffic.
func ownBackends(p Pool, port int32, weight *int, tier proxyconfig.Tier) []proxyconfig.Backend {
	addrs := p.Backend.Addresses(port, gatewayv1alpha1.ProtocolTCP)
	if len(addrs) == 0 {
		return nil
	}
	var out []proxyconfig.Backend
	if len(addrs) > len(p.Machines) {
		for _, a := range addrs {
			out = append(out, proxyconfig.Backend{Name: PoolBackendName(p.Name, a), Address: a, Group: p.Name, Weight: weight, Tier: tier})
		}
		return out
	}
	for i, m := range p.Machines {
		out = append(out, proxyconfig.Backend{
			Name: PoolBackendName(p.Name, m.Name), Address: addrs[i%len(addrs)], Group: p.Name, Weight: weight, Tier: tier,
		})
	}
	return out
}

// externalBackends are the external services that serve a VIP port: those
// whose port is that port, or all of them when the VIP service has a single
// port. One whose caBundle gives no certificate is held out (see
// externalServicesCondition): the proxies never get a CA they refuse, nor
// the system roots in place of the CA the user named.
func externalBackends(s Service, port int32) []proxyconfig.Backend {
	sd := s.Object.Spec.ServiceDiscovery
	if sd == nil {
		return nil
	}
	single := len(vipTCPPorts(s)) == 1
	var out []proxyconfig.Backend
	for _, e := range sd.ExternalServices {
		ca, ok := s.caBundle(e)
		if !ok || e.Protocol == "UDP" || (!single && e.Port != port) {
			continue
		}
		w := 1
		if e.Weight != nil {
			w = int(*e.Weight)
		}
		b := proxyconfig.Backend{
			Name: ExternalBackendName(e.Name), Address: net.JoinHostPort(e.Address, strconv.Itoa(int(e.Port))),
			Group: e.Name, Weight: &w, Tier: tierOf(s.Object, e.Name), Protocol: string(e.Protocol),
		}
		if ca.PEM != "" {
			b.TLS = &proxyconfig.TLS{CA: ca.PEM}
		}
		out = append(out, b)
	}
	return out
}

// serves is true when the pool's machines forward the port.
func (p *Pool) serves(port int32) bool {
	for _, pp := range p.tcpPorts() {
		if pp == port {
			return true
		}
	}
	return false
}

// vipTCPPorts are the TCP port numbers of the VIP service.
func vipTCPPorts(s Service) []int32 {
	var out []int32
	for _, p := range VIPPorts(s) {
		proto, num, _ := strings.Cut(p, ":")
		if n, err := strconv.Atoi(num); err == nil && proto == "tcp" {
			out = append(out, int32(n))
		}
	}
	return out
}

// weightOf is the weight of a group: spec.loadBalancing.weights, else 1.
func weightOf(ts *gatewayv1alpha1.TailscaleServices, group string) *int {
	w := 1
	if lb := ts.Spec.LoadBalancing; lb != nil {
		if v, ok := lb.Weights[group]; ok {
			w = int(v)
		}
	}
	return &w
}

// healthCheckOf maps the service-level health check; protocol and unset
// fields take the proxy's defaults (HTTP with a path, TCP without).
func healthCheckOf(lb *gatewayv1alpha1.LoadBalancingSpec) proxyconfig.HealthCheck {
	if lb == nil || lb.HealthCheck == nil {
		return proxyconfig.HealthCheck{}
	}
	h := lb.HealthCheck
	return proxyconfig.HealthCheck{
		Enabled:            h.Enabled,
		Path:               h.Path,
		Interval:           durationOf(h.Interval),
		Timeout:            durationOf(h.Timeout),
		HealthyThreshold:   int(h.HealthyThreshold),
		UnhealthyThreshold: int(h.UnhealthyThreshold),
	}
}

// durationOf parses a duration the CRD schema has already validated.
func durationOf(d gatewayv1alpha1.Duration) proxyconfig.Duration {
	v, _ := time.ParseDuration(string(d))
	return proxyconfig.Duration{Duration: v}
}

func tailnetIPv4(m gatewayv1alpha1.Machine) string {
	for _, ip := range m.TailnetIPs {
		if a := net.ParseIP(ip); a != nil && a.To4() != nil {
			return ip
		}
	}
	return ""
}

func listenAddr(port int32) string { return ":" + strconv.Itoa(int(port)) }

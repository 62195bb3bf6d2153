package proxyconfig

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"
)

// FieldError is a problem with one field, named by its path in the file,
// e.g. "services[0].backends[1].address: must be host:port".
type FieldError struct {
	Path   string
	Reason string
}

func (e *FieldError) Error() string { return e.Path + ": " + e.Reason }

// validator collects every problem instead of stopping at the first.
type validator struct{ errs []error }

func (v *validator) add(path, format string, args ...any) {
	v.errs = append(v.errs, &FieldError{Path: path, Reason: fmt.Sprintf(format, args...)})
}

// Validate reports every problem, joined; nil if there is none. Call
// Default first (Parse does): it checks the defaulted values.
func (c *Config) Validate() error {
	var v validator
	if c.Admin != nil {
		v.hostPort("admin.address", c.Admin.Address, 0)
	}
	services := map[string]bool{}
	for i := range c.Services {
		s := &c.Services[i]
		path := fmt.Sprintf("services[%d]", i)
		if services[s.Name] {
			v.add(path+".name", "duplicate service %q", s.Name)
		}
		services[s.Name] = true
		v.service(path, s)
	}
	addrs := map[string]bool{}
	for i, l := range c.Listeners {
		path := fmt.Sprintf("listeners[%d]", i)
		v.hostPort(path+".address", l.Address, 0)
		v.network(path+".network", l.Network, c.Tailnet != nil, true)
		if l.VIPService != "" && l.Network != NetworkTailnet {
			v.add(path+".vipService", "needs network: tailnet")
		}
		key := l.Network + "|" + l.VIPService + "|" + l.Address
		if addrs[key] {
			v.add(path+".address", "duplicate listener address %q", l.Address)
		}
		addrs[key] = true
		if !services[l.Service] {
			v.add(path+".service", "no service named %q", l.Service)
		}
	}
	return errors.Join(v.errs...)
}

func (v *validator) service(path string, s *Service) {
	if s.Name == "" {
		v.add(path+".name", "required")
	}
	if !s.Strategy.Known() {
		v.add(path+".strategy", "must be one of %s (got %q)", joined(Strategies[:], ", "), s.Strategy)
	}
	v.nonNegative(path+".failbackDelay", s.FailbackDelay.Duration)
	v.positive(path+".connectTimeout", s.ConnectTimeout.Duration)
	v.nonNegative(path+".idleTimeout", s.IdleTimeout.Duration)
	v.healthCheck(path+".healthCheck", &s.HealthCheck)
	if o := s.OutlierDetection; o != nil {
		op := path + ".outlierDetection"
		if o.ConsecutiveFailures < 1 {
			v.add(op+".consecutiveFailures", "must be at least 1")
		}
		v.positive(op+".baseEjectionTime", o.BaseEjectionTime.Duration)
		v.positive(op+".maxEjectionTime", o.MaxEjectionTime.Duration)
	}
	if len(s.Backends) == 0 {
		v.add(path+".backends", "at least one backend is required")
	}
	names := map[string]bool{}
	groupWeight := map[string]int{}
	for i := range s.Backends {
		b := &s.Backends[i]
		bp := fmt.Sprintf("%s.backends[%d]", path, i)
		if b.Name == "" {
			v.add(bp+".name", "required")
		} else if names[b.Name] {
			v.add(bp+".name", "duplicate backend %q", b.Name)
		}
		names[b.Name] = true
		v.hostPort(bp+".address", b.Address, 1)
		if b.Weight != nil {
			if *b.Weight < 0 {
				v.add(bp+".weight", "must not be negative")
			} else if w, ok := groupWeight[b.Group]; ok && w != *b.Weight {
				v.add(bp+".weight", "group %q already has weight %d; members of a group must agree", b.Group, w)
			} else {
				groupWeight[b.Group] = *b.Weight
			}
		}
		if _, ok := b.Tier.Rank(); !ok {
			v.add(bp+".tier", "must be one of %s (got %q)", joined(Tiers[:], ", "), b.Tier)
		}
		if b.Protocol != "" {
			v.protocol(bp+".protocol", b.Protocol)
		}
		v.network(bp+".network", b.Network, true, false)
	}
}

// network checks a listener's or backend's network; tailnet and pod need
// the tailnet section (the validator is told whether the file has one),
// and pod is for listeners only.
func (v *validator) network(path, network string, tailnet, listener bool) {
	switch {
	case network == "" || network == NetworkTCP:
	case network == NetworkTailnet && !tailnet:
		v.add(path, "tailnet needs a tailnet section (pod mode)")
	case network == NetworkPod && !tailnet:
		v.add(path, "pod needs a tailnet section (pod mode)")
	case network == NetworkTailnet, network == NetworkPod && listener:
	case listener:
		v.add(path, "must be tcp, tailnet or pod (got %q)", network)
	default:
		v.add(path, "must be tcp or tailnet (got %q)", network)
	}
}

func (v *validator) healthCheck(path string, h *HealthCheck) {
	v.protocol(path+".protocol", h.Protocol)
	v.positive(path+".interval", h.Interval.Duration)
	v.positive(path+".timeout", h.Timeout.Duration)
	if h.Timeout.Duration >= h.Interval.Duration {
		v.add(path+".timeout", "must be less than interval (%s)", h.Interval.Duration)
	}
	if h.HealthyThreshold < 1 {
		v.add(path+".healthyThreshold", "must be at least 1")
	}
	if h.UnhealthyThreshold < 1 {
		v.add(path+".unhealthyThreshold", "must be at least 1")
	}
}

func (v *validator) protocol(path, p string) {
	switch p {
	case ProtocolHTTP, ProtocolHTTPS, ProtocolTCP, ProtocolUDP:
	default:
		v.add(path, "must be one of HTTP, HTTPS, TCP, UDP (got %q)", p)
	}
}

// hostPort checks a listen address (port 0 picks a free port) or, with
// minPort 1, a dial address.
func (v *validator) hostPort(path, addr string, minPort int) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		v.add(path, "must be host:port (got %q)", addr)
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < minPort || n > 65535 {
		v.add(path, "port must be a number from %d to 65535 (got %q)", minPort, port)
	}
}

func (v *validator) positive(path string, d time.Duration) {
	if d <= 0 {
		v.add(path, "must be a positive duration")
	}
}

func (v *validator) nonNegative(path string, d time.Duration) {
	if d < 0 {
		v.add(path, "must not be negative")
	}
}

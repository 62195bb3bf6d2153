package proxy

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/tailscale-gateway/tailscale-gateway/internal/eventloop"
	"github.com/tailscale-gateway/tailscale-gateway/internal/health"
	"github.com/tailscale-gateway/tailscale-gateway/internal/lb"
	"github.com/tailscale-gateway/tailscale-gateway/internal/proxyconfig"
)

// service is the runtime of one configured service: its balancer, health
// monitor and counters. It is updated in place by config swaps so that
// connection counts, health and failover state survive reloads.
type service struct {
	name     string
	bal      *lb.Balancer
	mon      *health.Monitor
	settings atomic.Pointer[serviceSettings]
	counters atomic.Pointer[map[string]*counters]
	unserved atomic.Int64
}

type serviceSettings struct {
	connectTimeout time.Duration
	idleTimeout    time.Duration
	// ipBackends: every backend is an IP address on the host network, so
	// event loops can connect without resolving names or going through a
	// tailnet.
	ipBackends bool
}

func newService(name string, opts *Options) *service {
	s := &service{name: name}
	s.bal = lb.New(lb.Config{}, lb.Options{
		Clock: opts.Clock,
		OnSwitch: func(sw lb.Switch) {
			opts.Logger.Info("failover switch", "service", name, "from", sw.From, "to", sw.To, "reason", sw.Reason)
			if opts.OnSwitch != nil {
				opts.OnSwitch(name, sw)
			}
		},
	})
	s.mon = health.NewMonitor(health.MonitorOptions{
		Dial:     health.DialFunc(opts.Dial),
		OnChange: s.bal.SetHealthy,
		Clock:    opts.Clock,
		Logger:   opts.Logger.With("service", name),
	})
	empty := map[string]*counters{}
	s.counters.Store(&empty)
	return s
}

// plan is everything derived from a proxyconfig.Service before it is applied,
// so that a config with, say, an unreadable CA file changes nothing.
type plan struct {
	lb       lb.Config
	health   health.Config
	targets  []health.Target
	settings serviceSettings
	hops     map[string]bool // backends on the tailnet network: other proxies
	// leftOut are the backends whose own TLS settings cannot be used (a CA
	// without a certificate), and why: they are left out of the service,
	// which serves with the others, rather than refusing the whole
	// configuration with every other service in it.
	leftOut []error
}

func planService(c *proxyconfig.Service, jitter float64) (*plan, error) {
	if err := c.Strategy.Check(); err != nil {
		return nil, err
	}
	tlsConfig, err := probeTLS(c.HealthCheck.TLS)
	if err != nil {
		return nil, err
	}
	hc := c.HealthCheck
	od := c.OutlierDetection
	if od == nil {
		od = &proxyconfig.OutlierDetection{}
	}
	p := &plan{
		lb: lb.Config{Strategy: c.Strategy, FailbackDelay: c.FailbackDelay.Duration},
		health: health.Config{
			Enabled: hc.Enabled, Interval: hc.Interval.Duration, Timeout: hc.Timeout.Duration,
			Thresholds: health.Thresholds{Healthy: hc.HealthyThreshold, Unhealthy: hc.UnhealthyThreshold},
			Jitter:     jitter,
			Outlier: health.OutlierConfig{ConsecutiveFailures: od.ConsecutiveFailures,
				BaseEjectionTime: od.BaseEjectionTime.Duration, MaxEjectionTime: od.MaxEjectionTime.Duration},
		},
		settings: serviceSettings{connectTimeout: c.ConnectTimeout.Duration, idleTimeout: c.IdleTimeout.Duration,
			ipBackends: true},
	}
	for i := range c.Backends {
		b := &c.Backends[i]
		backendTLS := tlsConfig
		if b.TLS != nil {
			if backendTLS, err = probeTLS(b.TLS); err != nil {
				p.leftOut = append(p.leftOut, fmt.Errorf("backends[%d] %s: tls: %w", i, b.Name, err))
				continue
			}
		}
		if !isHostIPAddress(b) {
			p.settings.ipBackends = false
		}
		tier := b.TierOrDefault()
		if err := tier.Check(); err != nil {
			return nil, err
		}
		p.lb.Backends = append(p.lb.Backends, lb.Backend{
			Name: b.Name, Address: b.Address, Group: b.Group, Weight: c.GroupWeight(b.Group), Tier: tier,
		})
		if b.Network == proxyconfig.NetworkTailnet {
			if p.hops == nil {
				p.hops = map[string]bool{}
			}
			p.hops[b.Name] = true
		}
		p.targets = append(p.targets, health.Target{Name: b.Name, Probe: health.Probe{
			Protocol: health.Protocol(c.ProbeProtocol(b)), Address: b.Address, Path: hc.Path, TLS: backendTLS,
		}})
	}
	return p, nil
}

// probeTLS builds the HTTPS check configuration; nil means the defaults.
func probeTLS(t *proxyconfig.TLS) (*tls.Config, error) {
	if t == nil {
		return nil, nil
	}
	c := &tls.Config{ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("healthCheck.tls.caFile: %w", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("healthCheck.tls.caFile: no certificates in %s", t.CAFile)
		}
	}
	if t.CA != "" {
		if c.RootCAs == nil {
			roots, err := x509.SystemCertPool()
			if err != nil {
				roots = x509.NewCertPool() // no system roots here: the bundle alone
			}
			c.RootCAs = roots
		}
		if !c.RootCAs.AppendCertsFromPEM([]byte(t.CA)) {
			return nil, errors.New("tls.ca: no PEM certificates")
		}
	}
	return c, nil
}

// apply swaps in a plan. Balancer first, so that health reports for new
// backends find their members.
func (s *service) apply(p *plan) {
	s.settings.Store(&p.settings)
	old := *s.counters.Load()
	next := make(map[string]*counters, len(p.lb.Backends))
	for _, b := range p.lb.Backends {
		c := old[b.Name]
		if c == nil {
			c = &counters{}
		}
		c.hop.Store(p.hops[b.Name])
		next[b.Name] = c
	}
	s.counters.Store(&next)
	s.bal.Update(p.lb)
	s.mon.Update(p.health, p.targets)
}

// countersFor returns the named backend's counters; a backend removed by a
// concurrent swap gets throwaway counters rather than a nil pointer.
func (s *service) countersFor(name string) *counters {
	if c := (*s.counters.Load())[name]; c != nil {
		return c
	}
	return &counters{}
}

func (s *service) close() {
	s.mon.Close()
	s.bal.Close()
}

func (s *service) stats() ServiceStats {
	st := s.bal.Status()
	health := map[string]health.Status{}
	for _, h := range s.mon.Status() {
		health[h.Name] = h
	}
	out := ServiceStats{Name: s.name, Strategy: st.Strategy, Panic: st.Panic,
		ActiveTier: st.ActiveTier, Unserved: s.unserved.Load()}
	cs := *s.counters.Load()
	for _, m := range st.Members {
		h := health[m.Name]
		b := BackendStats{Name: m.Name, Group: m.Group, Tier: m.Tier, Address: m.Address, Weight: m.Weight,
			Healthy: m.Healthy, HealthState: h.State.String(), Ejected: h.Ejected, LastError: h.LastError, LastCheck: h.LastCheck}
		if c := cs[m.Name]; c != nil {
			b.Active, b.Total, b.Failed = c.active.Load(), c.total.Load(), c.failed.Load()
			b.BytesUp, b.BytesDown = c.bytesUp.Load(), c.bytesDown.Load()
		}
		out.Backends = append(out.Backends, b)
	}
	return out
}

func isHostIPAddress(b *proxyconfig.Backend) bool {
	if b.Network == proxyconfig.NetworkTailnet {
		return false
	}
	_, ok := eventloop.IPLiteral(b.Address)
	return ok
}

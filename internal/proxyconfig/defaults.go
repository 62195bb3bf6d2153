package proxyconfig

import "time"

// Defaults of fields left empty; see the field comments.
const (
	DefaultConnectTimeout     = 5 * time.Second
	DefaultInterval           = 10 * time.Second
	DefaultTimeout            = 5 * time.Second
	DefaultHealthyThreshold   = 2
	DefaultUnhealthyThreshold = 3
)

// Default fills every optional field that has a default. It is idempotent.
func (c *Config) Default() {
	for i := range c.Services {
		c.Services[i].defaults()
	}
}

func (s *Service) defaults() {
	if s.Strategy == "" {
		s.Strategy = StrategyRoundRobin
	}
	if s.ConnectTimeout.Duration == 0 {
		s.ConnectTimeout.Duration = DefaultConnectTimeout
	}
	h := &s.HealthCheck
	if h.Protocol == "" {
		h.Protocol = ProtocolTCP
		if h.Path != "" {
			h.Protocol = ProtocolHTTP
		}
	}
	if h.Interval.Duration == 0 {
		h.Interval.Duration = DefaultInterval
	}
	if h.Timeout.Duration == 0 {
		h.Timeout.Duration = min(DefaultTimeout, h.Interval.Duration/2)
	}
	if h.HealthyThreshold == 0 {
		h.HealthyThreshold = DefaultHealthyThreshold
	}
	if h.UnhealthyThreshold == 0 {
		h.UnhealthyThreshold = DefaultUnhealthyThreshold
	}
	if s.OutlierDetection == nil {
		s.OutlierDetection = &OutlierDetection{}
	}
	o := s.OutlierDetection
	if o.ConsecutiveFailures == 0 {
		o.ConsecutiveFailures = 5
	}
	if o.BaseEjectionTime.Duration == 0 {
		o.BaseEjectionTime.Duration = 30 * time.Second
	}
	if o.MaxEjectionTime.Duration == 0 {
		o.MaxEjectionTime.Duration = 300 * time.Second
	}
	for i := range s.Backends {
		b := &s.Backends[i]
		if b.Group == "" {
			b.Group = b.Name
		}
		b.Tier = b.TierOrDefault()
	}
}

// GroupWeight is the effective weight of a backend's group: the first weight
// set by a member of the group, else 1.
func (s *Service) GroupWeight(group string) int {
	for _, b := range s.Backends {
		if b.Group == group && b.Weight != nil {
			return *b.Weight
		}
	}
	return 1
}

// ProbeProtocol is the health-check protocol of a backend: its own, else the
// service's.
func (s *Service) ProbeProtocol(b *Backend) string {
	if b.Protocol != "" {
		return b.Protocol
	}
	return s.HealthCheck.Protocol
}

// TierOrDefault is the backend's tier: its own, else TierOther.
func (b *Backend) TierOrDefault() Tier {
	if b.Tier == "" {
		return TierOther
	}
	return b.Tier
}

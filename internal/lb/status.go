package lb

import "github.com/tailscale-gateway/tailscale-gateway/internal/proxyconfig"

// MemberStatus describes one backend for status reporting.
type MemberStatus struct {
	Name    string
	Address string
	Group   string
	Tier    proxyconfig.Tier
	Weight  int
	Healthy bool
	Active  int64
}

// Status is a point-in-time view of a Balancer.
type Status struct {
	Strategy   proxyconfig.Strategy
	Panic      bool
	ActiveTier proxyconfig.Tier
	Members    []MemberStatus
}

// Status reports membership, health and load.
func (b *Balancer) Status() Status {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.snap.Load()
	st := Status{Strategy: s.strategy, Panic: s.panic, ActiveTier: s.activeTier.tier()}
	for _, m := range s.all {
		be := m.Backend()
		st.Members = append(st.Members, MemberStatus{
			Name: m.name, Address: be.Address, Group: be.group(), Tier: rankOf(be.Tier).tier(), Weight: be.Weight,
			Healthy: b.healthy[m.name], Active: m.active.Load(),
		})
	}
	return st
}

// Package lb picks the backend for each new connection of a load-balanced
// service: round-robin, least-connections, weighted over groups or
// failover over tiers (proxyconfig.Strategies; docs/design-notes.md says
// what each does), plus panic mode. Picking
// is lock-free for every strategy but least-connections (a mutex-guarded
// heap, O(log n)); no pick allocates.
//
// The Balancer knows nothing about sockets or health probes: callers tell it
// which backends are healthy (SetHealthy) and when a connection ends (Done).
package lb

import (
	"time"

	"github.com/tailscale-gateway/tailscale-gateway/internal/proxyconfig"
)

// Backend is one place a connection can be sent to.
type Backend struct {
	// Name identifies the backend across updates; health and connection counts
	// follow the name.
	Name string
	// Address is opaque to the balancer; it is where the caller dials.
	Address string
	// Group is the unit the weighted strategy shares traffic between (one
	// TailscaleEndpoints pool, one external service). Empty means Name.
	Group string
	// Weight is the weight of the backend's group. A group's weight is taken
	// from its first listed member; configuration validation makes members of
	// one group agree. Zero sends the group no traffic.
	Weight int
	// Tier is the failover tier. Empty (or unknown) means TierOther, as in
	// configuration files.
	Tier proxyconfig.Tier
}

func (b *Backend) group() string {
	if b.Group == "" {
		return b.Name
	}
	return b.Group
}

// Config is everything that may change while traffic flows.
type Config struct {
	// Strategy should pass proxyconfig.Strategy.Check; an unknown one
	// balances round-robin.
	Strategy proxyconfig.Strategy
	// FailbackDelay is how long a higher failover tier must stay healthy,
	// without a break, before traffic moves back to it.
	FailbackDelay time.Duration
	Backends      []Backend
}

// Switch reports that the failover strategy moved traffic between tiers.
type Switch struct {
	// From and To are tiers, or proxyconfig.TierNone when no tier has a
	// healthy backend.
	From, To proxyconfig.Tier
	At       time.Time
	// Reason is machine-readable, e.g. "primary-endpoints-unhealthy" or
	// "primary-endpoints-recovered".
	Reason string
}

// Package lb picks the backend for each new connection of a load-balanced
// service. It implements the strategies of docs/design-notes.md (round-robin,
// least-connections, weighted over groups, failover over tiers) plus panic
// mode. Picking is lock-free for every strategy but least-connections (a
// mutex-guarded heap, O(log n)); no pick allocates.
//
// The Balancer knows nothing about sockets or health probes: callers tell it
// which backends are healthy (SetHealthy) and when a connection ends (Done).
package lb

import (
	"fmt"
	"time"
)

// Strategy is a load-balancing algorithm.
type Strategy string

// The strategies; docs/design-notes.md says what each does.
const (
	RoundRobin       Strategy = "round-robin"
	LeastConnections Strategy = "least-connections"
	Weighted         Strategy = "weighted"
	Failover         Strategy = "failover"
)

// ParseStrategy accepts the spelling used in configuration files.
func ParseStrategy(s string) (Strategy, error) {
	switch st := Strategy(s); st {
	case RoundRobin, LeastConnections, Weighted, Failover:
		return st, nil
	}
	return "", fmt.Errorf("unknown strategy %q (want round-robin, least-connections, weighted or failover)", s)
}

// Tier orders backends for the failover strategy. Lower values are preferred.
type Tier int

// Failover tiers, most preferred first. TierNone means "no tier is usable"
// (panic mode) and is only ever reported, never configured.
const (
	TierPrimary Tier = iota
	TierSecondary
	TierOther
	numTiers

	TierNone Tier = -1
)

var tierNames = [numTiers]string{"primary", "secondary", "other"}

func (t Tier) String() string {
	if t >= 0 && t < numTiers {
		return tierNames[t]
	}
	return "none"
}

// ParseTier maps a configured tier name to a Tier; empty means TierOther.
func ParseTier(s string) (Tier, error) {
	if s == "" {
		return TierOther, nil
	}
	for i, n := range tierNames {
		if n == s {
			return Tier(i), nil
		}
	}
	return TierNone, fmt.Errorf("unknown tier %q (want primary, secondary or other)", s)
}

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
	// Tier is the failover tier. The zero value is TierPrimary; configuration
	// files default to "other" (see ParseTier).
	Tier Tier
}

func (b *Backend) group() string {
	if b.Group == "" {
		return b.Name
	}
	return b.Group
}

// Config is everything that may change while traffic flows.
type Config struct {
	Strategy Strategy
	// FailbackDelay is how long a higher failover tier must stay healthy,
	// without a break, before traffic moves back to it.
	FailbackDelay time.Duration
	Backends      []Backend
}

// Switch reports that the failover strategy moved traffic between tiers.
type Switch struct {
	From, To Tier
	At       time.Time
	// Reason is machine-readable, e.g. "primary-endpoints-unhealthy" or
	// "primary-endpoints-recovered".
	Reason string
}

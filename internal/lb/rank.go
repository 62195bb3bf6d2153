package lb

import "github.com/tailscale-gateway/tailscale-gateway/internal/proxyconfig"

// rank is a tier's place in proxyconfig.Tiers, so that the failover state
// machine can keep per-tier state in arrays and compare tiers by preference.
type rank int

const (
	numTiers = len(proxyconfig.Tiers)
	// noRank is proxyconfig.TierNone: no tier takes traffic.
	noRank rank = -1
)

// rankOf ranks a backend's tier; an unknown or empty tier counts as
// TierOther, the configuration files' default.
func rankOf(t proxyconfig.Tier) rank {
	if r, ok := t.Rank(); ok {
		return rank(r)
	}
	r, _ := proxyconfig.TierOther.Rank()
	return rank(r)
}

func (r rank) tier() proxyconfig.Tier {
	if r < 0 || int(r) >= numTiers {
		return proxyconfig.TierNone
	}
	return proxyconfig.Tiers[r]
}

func (r rank) String() string { return string(r.tier()) }

package planner

import (
	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/proxyconfig"
)

// tierOf places a group in the failover tiers.
func tierOf(ts *gatewayv1alpha1.TailscaleServices, group string) proxyconfig.Tier {
	lb := ts.Spec.LoadBalancing
	if lb == nil || lb.FailoverConfig == nil {
		return proxyconfig.TierOther
	}
	for _, n := range lb.FailoverConfig.PrimaryEndpoints {
		if n == group {
			return proxyconfig.TierPrimary
		}
	}
	for _, n := range lb.FailoverConfig.SecondaryEndpoints {
		if n == group {
			return proxyconfig.TierSecondary
		}
	}
	return proxyconfig.TierOther
}

// IsFailback reports whether traffic moving between two tiers the proxies
// reported goes back to a more preferred one. A tier that cannot be
// configured (proxyconfig.TierNone: no tier served) ranks as TierOther.
func IsFailback(from, to string) bool {
	return tierRank(proxyconfig.Tier(to)) < tierRank(proxyconfig.Tier(from))
}

func tierRank(t proxyconfig.Tier) int {
	if r, ok := t.Rank(); ok {
		return r
	}
	r, _ := proxyconfig.TierOther.Rank()
	return r
}

package planner

import (
	"fmt"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/proxyconfig"
)

// specStrategy is the strategy a TailscaleServices asks for; round-robin
// when unset.
func specStrategy(ts *gatewayv1alpha1.TailscaleServices) gatewayv1alpha1.Strategy {
	if lb := ts.Spec.LoadBalancing; lb != nil && lb.Strategy != "" {
		return lb.Strategy
	}
	return gatewayv1alpha1.StrategyRoundRobin
}

// dataPlaneStrategy is the one place where the API's strategies meet the
// proxies'. A strategy the API gains fails TestEveryAPIStrategyMaps until
// it has a case here, and the proxies' own tests until they implement it.
func dataPlaneStrategy(s gatewayv1alpha1.Strategy) (proxyconfig.Strategy, error) {
	switch s {
	case gatewayv1alpha1.StrategyRoundRobin:
		return proxyconfig.StrategyRoundRobin, nil
	case gatewayv1alpha1.StrategyLeastConnections:
		return proxyconfig.StrategyLeastConnections, nil
	case gatewayv1alpha1.StrategyWeighted:
		return proxyconfig.StrategyWeighted, nil
	case gatewayv1alpha1.StrategyFailover:
		return proxyconfig.StrategyFailover, nil
	}
	return "", fmt.Errorf("strategy %q has no counterpart in the proxies", s)
}

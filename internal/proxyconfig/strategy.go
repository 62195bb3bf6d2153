package proxyconfig

import (
	"fmt"
	"slices"
)

// Strategy is how a service spreads connections over its backends. This
// is the data plane's one list of strategies: the planner maps the API's
// onto it and the balancer has one picker for each (both are tested to
// cover every value listed in Strategies).
type Strategy string

// Strategy values, as spelled in the file.
const (
	StrategyRoundRobin       Strategy = "round-robin"
	StrategyLeastConnections Strategy = "least-connections"
	StrategyWeighted         Strategy = "weighted"
	StrategyFailover         Strategy = "failover"
)

// Strategies lists every strategy. Read it, never write it.
var Strategies = [...]Strategy{StrategyRoundRobin, StrategyLeastConnections, StrategyWeighted, StrategyFailover}

// Known reports whether s is one of Strategies.
func (s Strategy) Known() bool { return slices.Contains(Strategies[:], s) }

// Check returns an error naming the known strategies when s is not one.
func (s Strategy) Check() error {
	if s.Known() {
		return nil
	}
	return fmt.Errorf("unknown strategy %q (want %s)", s, joined(Strategies[:], " or "))
}

package lb

import "github.com/tailscale-gateway/tailscale-gateway/internal/proxyconfig"

// picker is one load-balancing strategy, each in its own file. pickerFor
// is the one place that maps a configured strategy to its picker; a new
// strategy is a new file and a case there (TestEveryStrategyHasAPicker
// fails until it has one).
type picker interface {
	// tiered is true for a strategy that serves one failover tier at a
	// time: the Balancer then runs the failover state machine, and a
	// snapshot's candidates are the healthy members of the active tier.
	tiered() bool
	// build prepares a snapshot that is not in panic mode for this
	// picker's picks. It returns the members whose active connections the
	// Balancer must keep ordered (least-connections' heap), or nil.
	build(s *snapshot) (ordered []*Member)
	// pick chooses a member for a connection's first try or, with retry,
	// another, from the snapshot's candidates (never empty outside panic
	// mode); nil leaves the choice to snapshot.pickUntried. counted is
	// true when the pick has already counted the connection as active.
	// (It takes no *Attempt: through an interface, that would make every
	// caller's Attempt escape to the heap.)
	pick(s *snapshot, retry bool) (m *Member, counted bool)
}

// pickerFor is the picker of a strategy; lc is the Balancer's heap, for
// least-connections.
func pickerFor(s proxyconfig.Strategy, lc *leastConn) (picker, error) {
	switch s {
	case proxyconfig.StrategyRoundRobin:
		return roundRobinPicker{}, nil
	case proxyconfig.StrategyLeastConnections:
		return leastConnPicker{lc}, nil
	case proxyconfig.StrategyWeighted:
		return weightedPicker{}, nil
	case proxyconfig.StrategyFailover:
		return failoverPicker{}, nil
	}
	return nil, s.Check()
}

// pickerOrRoundRobin is pickerFor for a Config, which callers have
// checked; an unknown strategy (or none, before the first Update)
// balances round-robin, as it always has.
func pickerOrRoundRobin(s proxyconfig.Strategy, lc *leastConn) picker {
	if p, err := pickerFor(s, lc); err == nil {
		return p
	}
	return roundRobinPicker{}
}

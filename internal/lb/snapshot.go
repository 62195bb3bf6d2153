package lb

import (
	"sync/atomic"

	"github.com/tailscale-gateway/tailscale-gateway/internal/proxyconfig"
)

// snapshot is an immutable view of a Balancer's membership and health that
// picks read without locks. Only its counters change after it is built.
type snapshot struct {
	strategy proxyconfig.Strategy
	all      []*Member // every member, in configuration order
	healthy  []*Member // healthy members, in configuration order
	// candidates are the members the strategy spreads traffic over: the
	// healthy ones, those of the active failover tier, or all in panic mode.
	candidates []*Member
	panic      bool
	activeTier rank

	// Weighted strategy: groups with a healthy member and their schedule.
	groups   []group
	schedule []int32

	next atomic.Uint64 // round-robin position over candidates
	slot atomic.Uint64 // position in schedule
}

type group struct {
	name    string
	weight  int
	healthy []*Member
	next    atomic.Uint64
}

// buildSnapshot derives what picks need from membership and health.
func buildSnapshot(cfg *Config, members []*Member, healthy map[string]bool, tier rank) *snapshot {
	s := &snapshot{strategy: cfg.Strategy, all: members, activeTier: tier}
	for _, m := range members {
		if healthy[m.name] {
			s.healthy = append(s.healthy, m)
		}
	}
	s.candidates = s.healthy
	if cfg.Strategy == proxyconfig.StrategyFailover {
		s.candidates = membersOfTier(s.healthy, tier)
	}
	if len(s.candidates) == 0 {
		s.panic, s.candidates = true, s.all
	}
	if cfg.Strategy == proxyconfig.StrategyWeighted && !s.panic {
		s.groups, s.schedule = weightedGroups(s.healthy)
	}
	return s
}

func membersOfTier(members []*Member, tier rank) []*Member {
	var out []*Member
	for _, m := range members {
		if rankOf(m.Backend().Tier) == tier {
			out = append(out, m)
		}
	}
	return out
}

// weightedGroups groups healthy members in order of first appearance. Groups
// without a healthy member are absent, so their share goes to the others.
func weightedGroups(healthy []*Member) ([]group, []int32) {
	index := map[string]int{}
	var groups []group
	for _, m := range healthy {
		b := m.Backend()
		i, ok := index[b.group()]
		if !ok {
			i = len(groups)
			index[b.group()] = i
			groups = append(groups, group{name: b.group(), weight: b.Weight})
		}
		groups[i].healthy = append(groups[i].healthy, m)
	}
	weights := make([]int, len(groups))
	for i := range groups {
		weights[i] = groups[i].weight
	}
	return groups, smoothSequence(weights)
}

// pickCandidate applies every strategy but least-connections (see
// leastConn). It returns nil only when the snapshot
// has no members at all.
func (s *snapshot) pickCandidate() *Member {
	switch {
	case len(s.candidates) == 0:
		return nil
	case s.panic:
		return roundRobin(s.candidates, &s.next)
	case s.strategy == proxyconfig.StrategyWeighted && len(s.schedule) > 0:
		g := &s.groups[s.schedule[(s.slot.Add(1)-1)%uint64(len(s.schedule))]]
		return roundRobin(g.healthy, &g.next)
	default:
		return roundRobin(s.candidates, &s.next)
	}
}

// pickUntried finds a backend this attempt has not tried: the strategy's
// candidates first, then any healthy member, then any member at all.
func (s *snapshot) pickUntried(a *Attempt) *Member {
	start := int(s.next.Add(1) - 1)
	for _, list := range [...][]*Member{s.candidates, s.healthy, s.all} {
		for i := range list {
			if m := list[(start+i)%len(list)]; !a.has(m) {
				return m
			}
		}
	}
	return nil
}

func roundRobin(members []*Member, next *atomic.Uint64) *Member {
	return members[(next.Add(1)-1)%uint64(len(members))]
}

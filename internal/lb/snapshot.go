package lb

import (
	"sync/atomic"

	"github.com/tailscale-gateway/tailscale-gateway/internal/proxyconfig"
)

// snapshot is an immutable view of a Balancer's membership and health that
// picks read without locks. Only its counters change after it is built.
type snapshot struct {
	strategy proxyconfig.Strategy
	picker   picker
	all      []*Member // every member, in configuration order
	healthy  []*Member // healthy members, in configuration order
	// candidates are the members the strategy spreads traffic over: the
	// healthy ones, those of the active failover tier, or all in panic mode.
	candidates []*Member
	panic      bool
	activeTier rank

	weighted weightedSchedule // the weighted picker's state; ends in its counter

	next atomic.Uint64 // round-robin position over candidates
}

// cacheLinePad keeps the atomic counters that every pick writes off the
// cache lines of the fields that every pick reads: with them on one line,
// each write by one core evicts those fields from the other cores' caches.
type cacheLinePad [64]byte

// buildSnapshot derives what picks need from membership and health. It
// also returns the members whose active connections must be kept ordered
// (see picker.build).
func buildSnapshot(strategy proxyconfig.Strategy, p picker, members []*Member, healthy map[string]bool, tier rank) (*snapshot, []*Member) {
	s := &snapshot{strategy: strategy, picker: p, all: members, activeTier: tier}
	for _, m := range members {
		if healthy[m.name] {
			s.healthy = append(s.healthy, m)
		}
	}
	s.candidates = s.healthy
	if p.tiered() {
		s.candidates = membersOfTier(s.healthy, tier)
	}
	if len(s.candidates) == 0 {
		s.panic, s.candidates = true, s.all
		return s, nil
	}
	return s, p.build(s)
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

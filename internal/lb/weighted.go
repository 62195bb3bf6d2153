package lb

import "sync/atomic"

// weightedPicker shares traffic between groups by weight (smooth weighted
// round-robin over a precomputed schedule), and round-robin between a
// group's healthy members.
type weightedPicker struct{}

// weightedSchedule is a snapshot's state for the weighted strategy.
type weightedSchedule struct {
	groups   []group // groups with a healthy member
	schedule []int32 // indexes into groups, one period of the sequence
	_        cacheLinePad
	slot     atomic.Uint64 // position in schedule
}

// group pads its counter on both sides: picks read every group's members
// and write one group's counter.
type group struct {
	name    string
	weight  int
	healthy []*Member
	_       cacheLinePad
	next    atomic.Uint64
	_       cacheLinePad
}

func (weightedPicker) tiered() bool { return false }

func (weightedPicker) build(s *snapshot) []*Member {
	s.weighted.groups, s.weighted.schedule = weightedGroups(s.healthy)
	return nil
}

// pick falls back to round-robin over the candidates when every healthy
// group weighs 0.
func (weightedPicker) pick(s *snapshot, _ bool) (*Member, bool) {
	w := &s.weighted
	if len(w.schedule) == 0 {
		return roundRobin(s.candidates, &s.next), false
	}
	g := &w.groups[w.schedule[(w.slot.Add(1)-1)%uint64(len(w.schedule))]]
	return roundRobin(g.healthy, &g.next), false
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

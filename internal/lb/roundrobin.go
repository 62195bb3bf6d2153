package lb

import "sync/atomic"

// roundRobinPicker takes the healthy members in turn.
type roundRobinPicker struct{}

func (roundRobinPicker) tiered() bool { return false }

func (roundRobinPicker) build(*snapshot) []*Member { return nil }

func (roundRobinPicker) pick(s *snapshot, _ bool) (*Member, bool) {
	return roundRobin(s.candidates, &s.next), false
}

// roundRobin takes members in turn by an atomic counter: lock-free, and
// with many pickers at once still close to even.
func roundRobin(members []*Member, next *atomic.Uint64) *Member {
	return members[(next.Add(1)-1)%uint64(len(members))]
}

package lb

import "time"

// failoverState is the pure state machine behind the failover strategy.
// It is advanced by next() whenever tier health changes or a failback timer
// fires; it never reads a clock itself.
type failoverState struct {
	active rank
	// healthySince is when each tier last became healthy (had at least one
	// healthy backend); zero while the tier is unhealthy. A break in health
	// resets it, which is what makes failback wait for unbroken health.
	healthySince [numTiers]time.Time
}

func newFailoverState() failoverState { return failoverState{active: noRank} }

// next returns the state after observing tier health at now, the switch it
// caused (nil if none), and how long until a pending failback could happen
// (0 if none is pending).
func (s failoverState) next(now time.Time, healthy [numTiers]bool, delay time.Duration) (failoverState, *Switch, time.Duration) {
	for t := range numTiers {
		switch {
		case !healthy[t]:
			s.healthySince[t] = time.Time{}
		case s.healthySince[t].IsZero():
			s.healthySince[t] = now
		}
	}
	var (
		target rank
		reason string
		wake   time.Duration
	)
	if s.active == noRank || !healthy[s.active] {
		// Leaving a dead tier is immediate: go to the best tier with health.
		target = firstHealthy(healthy)
		if s.active == noRank {
			reason = target.String() + "-endpoints-healthy"
		} else {
			reason = s.active.String() + "-endpoints-unhealthy"
		}
	} else {
		target, reason, wake = s.failbackTarget(now, healthy, delay)
	}
	if target == s.active {
		return s, nil, wake
	}
	sw := &Switch{From: s.active.tier(), To: target.tier(), At: now, Reason: reason}
	s.active = target
	return s, sw, 0
}

// failbackTarget picks the best tier above the active one that has been
// healthy for delay, or reports how long until one might qualify.
func (s failoverState) failbackTarget(now time.Time, healthy [numTiers]bool, delay time.Duration) (rank, string, time.Duration) {
	var wake time.Duration
	for t := range s.active {
		if !healthy[t] {
			continue
		}
		healthyFor := now.Sub(s.healthySince[t])
		if healthyFor >= delay {
			return t, t.String() + "-endpoints-recovered", 0
		}
		if left := delay - healthyFor; wake == 0 || left < wake {
			wake = left
		}
	}
	return s.active, "", wake
}

func firstHealthy(healthy [numTiers]bool) rank {
	for t := range rank(numTiers) {
		if healthy[t] {
			return t
		}
	}
	return noRank
}

// failoverPicker takes the healthy members of the active tier in turn; the
// Balancer moves the tier with failoverState.
type failoverPicker struct{}

func (failoverPicker) tiered() bool { return true }

func (failoverPicker) build(*snapshot) []*Member { return nil }

func (failoverPicker) pick(s *snapshot, _ bool) (*Member, bool) {
	return roundRobin(s.candidates, &s.next), false
}

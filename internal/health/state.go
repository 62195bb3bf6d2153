// Package health decides whether backends should receive traffic: active
// checks (HTTP, HTTPS, TCP, UDP probes on an interval) and passive outlier
// detection (consecutive dial failures eject a backend for a while).
//
// The decisions are pure state machines (Tracker, Outlier) that never read a
// clock or touch a socket; Monitor is the imperative shell that runs probes on
// a schedule and reports effective health changes.
package health

import "fmt"

// State is what active checks concluded about a backend.
type State int

const (
	// Unknown is the state of a backend that has not passed a check yet and
	// has not failed enough checks to be Unhealthy. It receives no traffic
	// (a new backend is healthy after its first passing check: see
	// docs/design-notes.md, Health checks);
	// if no backend of a service is Healthy, panic mode tries them all anyway.
	Unknown State = iota
	Healthy
	Unhealthy
)

func (s State) String() string {
	switch s {
	case Healthy:
		return "healthy"
	case Unhealthy:
		return "unhealthy"
	}
	return "unknown"
}

// Thresholds are the consecutive results needed to change state.
type Thresholds struct {
	Healthy   int // passes to go from Unhealthy to Healthy
	Unhealthy int // failures to go from Healthy (or Unknown) to Unhealthy
}

// Tracker is the active-check state machine of one backend. The zero value
// is a new backend in state Unknown.
type Tracker struct {
	state  State
	passes int // consecutive
	fails  int // consecutive
}

// State is the current conclusion.
func (t Tracker) State() State { return t.state }

func (t Tracker) String() string {
	return fmt.Sprintf("%s (passes %d, failures %d)", t.state, t.passes, t.fails)
}

// Observe returns the tracker after one check result.
//
//	Unknown   --first pass-->                   Healthy
//	Unknown   --Unhealthy consecutive fails-->   Unhealthy
//	Healthy   --Unhealthy consecutive fails-->   Unhealthy
//	Unhealthy --Healthy consecutive passes-->   Healthy
func (t Tracker) Observe(pass bool, th Thresholds) Tracker {
	if pass {
		t.passes, t.fails = t.passes+1, 0
	} else {
		t.passes, t.fails = 0, t.fails+1
	}
	switch {
	case t.state == Unknown && pass:
		t.state = Healthy
	case t.state != Unhealthy && t.fails >= max(1, th.Unhealthy):
		t.state = Unhealthy
	case t.state == Unhealthy && t.passes >= max(1, th.Healthy):
		t.state = Healthy
	}
	return t
}

package health

import "time"

// OutlierConfig tunes passive outlier detection.
type OutlierConfig struct {
	// ConsecutiveFailures dial failures in a row eject a backend.
	ConsecutiveFailures int
	// BaseEjectionTime is multiplied by the number of times the backend has
	// been ejected.
	BaseEjectionTime time.Duration
	// MaxEjectionTime caps one ejection.
	MaxEjectionTime time.Duration
}

// DefaultOutlier is Envoy's default: 5 failures, 30 s × ejections, ≤ 300 s.
var DefaultOutlier = OutlierConfig{
	ConsecutiveFailures: 5,
	BaseEjectionTime:    30 * time.Second,
	MaxEjectionTime:     300 * time.Second,
}

// Outlier is the passive-detection state machine of one backend. The zero
// value has seen no failures.
type Outlier struct {
	failures     int // consecutive dial failures
	ejections    int // times ejected; drives the growing ejection time
	ejectedUntil time.Time
}

// DialFailed records a failed dial at now, ejecting the backend when the
// failures reach the threshold. A backend that stayed in service for
// MaxEjectionTime since its last ejection ended starts again from the base
// ejection time, so one bad hour long ago does not cost 300 s forever.
func (o Outlier) DialFailed(now time.Time, cfg OutlierConfig) Outlier {
	if o.Ejected(now) {
		return o
	}
	o.failures++
	if o.failures < max(1, cfg.ConsecutiveFailures) {
		return o
	}
	if !o.ejectedUntil.IsZero() && now.Sub(o.ejectedUntil) >= cfg.MaxEjectionTime {
		o.ejections = 0
	}
	o.ejections++
	o.failures = 0
	o.ejectedUntil = now.Add(min(cfg.BaseEjectionTime*time.Duration(o.ejections), cfg.MaxEjectionTime))
	return o
}

// DialSucceeded resets the failure count.
func (o Outlier) DialSucceeded() Outlier {
	o.failures = 0
	return o
}

// Ejected reports whether the backend is out of service at now.
func (o Outlier) Ejected(now time.Time) bool { return now.Before(o.ejectedUntil) }

// EjectedUntil is when the current or last ejection ends (zero if never).
func (o Outlier) EjectedUntil() time.Time { return o.ejectedUntil }

// Ejections is how many times the backend has been ejected.
func (o Outlier) Ejections() int { return o.ejections }

// Package cleanup bounds how long a finalizer holds an object whose
// tailnet objects cannot be removed (a dead or unauthorised tailnet API):
// for ever would block the deletion of its namespace. The decision is pure;
// the controllers' finalizers ask it when their cleanup fails.
package cleanup

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SkipAnnotation, set to "true" on a TailscaleEndpoints or TailscaleServices,
// lets it go at once when deleted, leaving whatever it has in the tailnet
// (devices, keys, a VIP service) for an administrator to remove.
const SkipAnnotation = "gateway.tailscale.com/skip-tailnet-cleanup"

// DefaultBound is how long a deleted object waits for its tailnet cleanup
// before it is let go anyway, unless the operator is told otherwise
// (--cleanup-bound).
const DefaultBound = 10 * time.Minute

// BoundOr is bound, or DefaultBound when bound is not positive.
func BoundOr(bound time.Duration) time.Duration {
	if bound > 0 {
		return bound
	}
	return DefaultBound
}

// Verdict says whether a deleted object whose cleanup cannot finish yet
// may be let go.
type Verdict int

const (
	// Retry: keep the finalizer and try again.
	Retry Verdict = iota
	// Skipped: an administrator asked to skip the cleanup.
	Skipped
	// GaveUp: the cleanup failed for longer than the bound.
	GaveUp
)

// Decide judges a deleted object (DeletionTimestamp set) at now, letting
// it go once bound has passed.
func Decide(obj metav1.Object, now time.Time, bound time.Duration) Verdict {
	if obj.GetAnnotations()[SkipAnnotation] == "true" {
		return Skipped
	}
	if ts := obj.GetDeletionTimestamp(); ts != nil && now.Sub(ts.Time) >= bound {
		return GaveUp
	}
	return Retry
}

// RetryIn is when to look again: at the bound at the latest, so that a
// deletion nobody touches still ends.
func RetryIn(obj metav1.Object, now time.Time, backoff, bound time.Duration) time.Duration {
	ts := obj.GetDeletionTimestamp()
	if ts == nil {
		return backoff
	}
	return max(time.Second, min(backoff, ts.Add(bound).Sub(now)))
}

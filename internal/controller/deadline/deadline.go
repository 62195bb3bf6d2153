// Package deadline leaves a reconcile time to write what happened when a
// Tailscale API call uses up its own.
//
// Each reconcile runs under a deadline (--reconcile-timeout). A blackholed
// Tailscale API holds a call until that deadline passes; the writes that
// follow (the condition saying why, the finalizer let go after the
// cleanup bound) would then fail at once with the same expired context:
// the object would never say what is wrong, nor ever be released. Calls
// to the tailnet therefore get a shorter deadline than the reconcile.
package deadline

import (
	"context"
	"time"
)

// Reserve is the most of a reconcile's time kept back from the tailnet
// for the Kubernetes writes that follow; a short reconcile keeps half.
const Reserve = 10 * time.Second

// ForTailnet is ctx ending Reserve (or half the time left, if less)
// before ctx's own deadline; without a deadline it is ctx.
func ForTailnet(ctx context.Context) (context.Context, context.CancelFunc) {
	d, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	reserve := min(Reserve, time.Until(d)/2)
	return context.WithDeadline(ctx, d.Add(-reserve))
}

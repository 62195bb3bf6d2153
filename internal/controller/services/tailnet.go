package services

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/cleanup"
	"github.com/tailscale-gateway/tailscale-gateway/internal/observe"
	"github.com/tailscale-gateway/tailscale-gateway/internal/planner"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tailnet"
)

// tailnetOf is the tailnet of the VIP service (see chooseTailnet).
func (r *Reconciler) tailnetOf(ts *gatewayv1alpha1.TailscaleServices, eps []gatewayv1alpha1.TailscaleEndpoints) (string, *planner.Problem) {
	return chooseTailnet(ts, eps, r.DefaultTailnet)
}

// chooseTailnet is the tailnet of the VIP service: the selected pools' (which
// must agree); with none selected, the one status.tailnet records (a
// selector that matches nothing for a while, or pools deleted before the
// TailscaleServices, do not move the service to the default tailnet);
// else the template's, else the default.
func chooseTailnet(ts *gatewayv1alpha1.TailscaleServices, eps []gatewayv1alpha1.TailscaleEndpoints, defaultTailnet string) (string, *planner.Problem) {
	name := ""
	for _, ep := range eps {
		n := tailnet.Named(ep.Spec.Tailnet, defaultTailnet)
		if name != "" && n != name {
			return "", &planner.Problem{Reason: gatewayv1alpha1.ReasonTailnetMismatch, Message: fmt.Sprintf(
				"the selected pools are in different tailnets (%s and %s); a VIP service lives in one tailnet: narrow spec.selector", name, n)}
		}
		name = n
	}
	if name == "" {
		name = ts.Status.Tailnet
	}
	if name == "" && ts.Spec.EndpointTemplate != nil {
		name = ts.Spec.EndpointTemplate.Tailnet
	}
	return tailnet.Named(name, defaultTailnet), nil
}

// releaseTailnets are the tailnets a deleted TailscaleServices releases its
// VIP service from: the one status.tailnet records, and the computed one
// (chooseTailnet, "" when it has a problem) when it differs. They differ only
// when nothing is recorded, or when the selected pools still exist and name
// another tailnet: a move whose status write was lost, or whose release
// from the recorded tailnet keeps failing. Releasing from a tailnet where
// the service is not ours is a read and nothing else.
func releaseTailnets(recorded, computed string) []string {
	var out []string
	if recorded != "" {
		out = append(out, recorded)
	}
	if computed != "" && computed != recorded {
		out = append(out, computed)
	}
	return out
}

// releaseNames are the VIP services a TailscaleServices releases: the one
// its status records as in use (a rename not yet acted on leaves it
// there), and the one it would use now, the one discovery attached it to,
// else its own, when that differs. Releasing a name that is not ours, or
// that does not exist, is a read and nothing else.
func releaseNames(ts *gatewayv1alpha1.TailscaleServices) []string {
	current := observe.AttachedName(ts)
	if current == "" {
		current = planner.VIPServiceName(ts)
	}
	var out []string
	if vs := ts.Status.VIPServiceStatus; vs != nil && vs.ServiceName != "" && vs.ServiceName != current {
		out = append(out, vs.ServiceName)
	}
	return append(out, current)
}

// leaveTailnet releases the VIP service from the tailnet status.tailnet
// records when the selected pools now name another: their machines no
// longer host it there, and a service left behind keeps its name and
// addresses taken with nobody serving it. It is released once the new
// tailnet can be used (a pool naming a tailnet that does not exist, say by
// a typo, moves nothing), and before the service is created there; while
// the release fails, it is not created there and the error says why.
// cleanup.SkipAnnotation leaves it in place, with a Warning, as it does on
// deletion.
func (r *Reconciler) leaveTailnet(ctx context.Context, ts *gatewayv1alpha1.TailscaleServices, to string, o *planner.Observed) error {
	from := ts.Status.Tailnet
	if from == "" || from == to {
		return nil
	}
	name := strings.Join(releaseNames(ts), ", ")
	if cleanup.Decide(ts, r.now(), r.cleanupBound()) == cleanup.Skipped {
		r.Recorder.Eventf(ts, nil, corev1.EventTypeWarning, "VIPServiceNotReleased", "Move",
			"the selected pools moved to tailnet %s; %s is set: %s is left in tailnet %s as it is", to, cleanup.SkipAnnotation, name, from)
		o.ReleasedFrom = from
		return nil
	}
	for _, n := range releaseNames(ts) {
		if err := r.release(ctx, ts, from, n); err != nil {
			return fmt.Errorf("releasing %s from tailnet %s, which the selected pools left for %s, before creating it there: %w", n, from, to, err)
		}
	}
	o.ReleasedFrom = from
	r.Recorder.Eventf(ts, nil, corev1.EventTypeNormal, "TailnetChanged", "Move",
		"the selected pools moved to tailnet %s: %s was released from tailnet %s", to, name, from)
	return nil
}

// recordTailnet writes status.tailnet before anything is written to the
// tailnet: a TailscaleServices deleted between the VIP service's creation
// and the status write that follows it, with its pools deleted too (so
// that they no longer tell the tailnet), must still be released from the
// right one. The status write at the end of the pass computes the same
// value (planner: the tailnet this pass used).
func (r *Reconciler) recordTailnet(ctx context.Context, ts *gatewayv1alpha1.TailscaleServices, tn string) error {
	if ts.Status.Tailnet == tn {
		return nil
	}
	patch := client.MergeFrom(ts.DeepCopy())
	ts.Status.Tailnet = tn
	if err := r.Client.Status().Patch(ctx, ts, patch); err != nil {
		return fmt.Errorf("recording tailnet %s in status before writing to it: %w", tn, err)
	}
	return nil
}

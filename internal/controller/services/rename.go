package services

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/cleanup"
	"github.com/tailscale-gateway/tailscale-gateway/internal/planner"
)

// renamedFrom is the VIP service a TailscaleServices leaves because its
// spec now names another in the same tailnet: the one its status records
// as in use there; "" when there is none to leave (no name recorded, the
// same name, another tailnet, whose move leaveTailnet handles, or no name
// in the spec, where discovery chooses).
func renamedFrom(ts *gatewayv1alpha1.TailscaleServices, tn string) string {
	vs := ts.Status.VIPServiceStatus
	if vs == nil || vs.ServiceName == "" || ts.Status.Tailnet != tn || ts.Spec.VIPService == nil || ts.Spec.VIPService.Name == "" {
		return ""
	}
	if vs.ServiceName == planner.VIPServiceName(ts) {
		return ""
	}
	return vs.ServiceName
}

// leaveOldName releases the VIP service spec.vipService.name named before
// it was changed, before the new one is created: left behind, it would keep
// its name and addresses with nobody serving it. release deletes it only
// when it is ours and nobody else uses it, as on deletion.
// cleanup.SkipAnnotation leaves it in place, with a Warning.
func (r *Reconciler) leaveOldName(ctx context.Context, ts *gatewayv1alpha1.TailscaleServices, tn string) error {
	old := renamedFrom(ts, tn)
	if old == "" {
		return nil
	}
	name := planner.VIPServiceName(ts)
	if cleanup.Decide(ts, r.now(), r.cleanupBound()) == cleanup.Skipped {
		r.Recorder.Eventf(ts, nil, corev1.EventTypeWarning, "VIPServiceNotReleased", "Rename",
			"spec.vipService.name is now %s; %s is set: %s is left in the tailnet as it is", name, cleanup.SkipAnnotation, old)
		return nil
	}
	if err := r.release(ctx, ts, tn, old); err != nil {
		return fmt.Errorf("releasing %s, which spec.vipService.name named before %s: %w", old, name, err)
	}
	r.Recorder.Eventf(ts, nil, corev1.EventTypeNormal, "VIPServiceRenamed", "Rename",
		"spec.vipService.name is now %s: %s was released", name, old)
	return nil
}

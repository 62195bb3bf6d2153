package services

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/coordination"
	"github.com/tailscale-gateway/tailscale-gateway/internal/observe"
	"github.com/tailscale-gateway/tailscale-gateway/internal/planner"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tsapi"
)

// finalize releases the VIP service: deleted when this TailscaleServices
// was the last to use it and no host named in its registry still serves
// it (releaseRegistered); a service that is not ours is left alone. A tailnet that cannot be reached any more does not hold the
// object forever: a Warning says what may be left behind.
func (r *Reconciler) finalize(ctx context.Context, ts *gatewayv1alpha1.TailscaleServices) error {
	if !controllerutil.ContainsFinalizer(ts, Finalizer) {
		return nil
	}
	eps, err := observe.SelectedPools(ctx, r.Client, ts)
	if err != nil {
		return err
	}
	name := planner.VIPServiceName(ts)
	if attached := observe.AttachedName(ts); attached != "" {
		name = attached
	}
	tn, problem := r.tailnetOf(ts, eps)
	if problem == nil {
		if err := r.release(ctx, ts, tn, name); err != nil {
			return err
		}
	}
	// Garbage collection would delete it too; deleting it here does not
	// depend on a garbage collector running.
	if err := r.deleteAutoPool(ctx, ts); err != nil {
		return err
	}
	controllerutil.RemoveFinalizer(ts, Finalizer)
	return r.Client.Update(ctx, ts)
}

func (r *Reconciler) release(ctx context.Context, ts *gatewayv1alpha1.TailscaleServices, tn, name string) error {
	api, _, err := r.Tailnets.Resolve(ctx, tn)
	if err != nil {
		if isConfigError(err) {
			r.Recorder.Eventf(ts, nil, corev1.EventTypeWarning, "VIPServiceNotReleased", "Delete",
				"%s may remain in the tailnet: %v", name, err)
			return nil
		}
		return err
	}
	defer r.snapshot(tn).Invalidate() // what releasing writes
	actual, err := api.GetVIPService(ctx, name)
	if tsapi.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	reg, managed, perr := coordination.Parse(actual.Annotations)
	if !managed || perr != nil || !reg.Has(planner.RegistryEntry(r.OperatorID, planner.Service{Object: ts})) {
		return nil // not ours: used as it is, or another's we were refused, left as it is
	}
	return r.releaseRegistered(ctx, api, ts, name, reg)
}

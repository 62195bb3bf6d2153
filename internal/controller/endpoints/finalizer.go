package endpoints

import (
	"context"
	"errors"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tailnet"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tsapi"
)

// finalize removes the pool's devices and keys from the tailnet, then lets
// the pool go; garbage collection removes its Kubernetes objects. A
// TailscaleTailnet that no longer exists cannot be cleaned up: the pool is
// let go with a Warning rather than held forever.
func (r *Reconciler) finalize(ctx context.Context, ep *gatewayv1alpha1.TailscaleEndpoints) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(ep, Finalizer) {
		return ctrl.Result{}, nil
	}
	replicas, err := r.poolReplicas(ctx, ep)
	if err != nil {
		return ctrl.Result{}, err
	}
	api, _, err := r.Tailnets.Resolve(ctx, ep.Spec.Tailnet)
	switch {
	case errors.Is(err, tailnet.ErrTailnetNotFound):
		r.warning(ep, EventTailnetGone, "Delete", "%v; the pool's devices and auth keys, if any, must be removed from the tailnet by hand", err)
	case err != nil:
		r.warning(ep, EventCleanupBlocked, "Delete", "cannot remove the pool's devices from the tailnet yet: %v", err)
		return ctrl.Result{RequeueAfter: r.retryDelay()}, nil
	default:
		if err := r.releaseTailnet(ctx, ep, api, replicas); err != nil {
			return ctrl.Result{}, err
		}
	}
	for _, rep := range replicas {
		if err := r.letGo(ctx, rep.authKey); err != nil {
			return ctrl.Result{}, err
		}
	}
	controllerutil.RemoveFinalizer(ep, Finalizer)
	return ctrl.Result{}, r.Client.Update(ctx, ep)
}

// releaseTailnet removes every machine of the pool from the tailnet: the
// devices and keys the API confirms are its machines' (identity.go). A
// replica without an auth key Secret never had a key from this operator,
// so no device of the tailnet can be its.
func (r *Reconciler) releaseTailnet(ctx context.Context, ep *gatewayv1alpha1.TailscaleEndpoints, api tsapi.Client, replicas map[int]*replica) error {
	inv := &inventory{api: api}
	var devices, keys int
	for _, ordinal := range sortedOrdinals(replicas) {
		d, k, err := r.release(ctx, ep, inv, replicas[ordinal])
		if err != nil {
			return err
		}
		devices, keys = devices+d, keys+k
	}
	if err := r.revokeOrphanKeys(ctx, ep, inv, replicas); err != nil {
		return err
	}
	r.normal(ep, EventReleased, "Delete", "deleted %d device(s) and revoked %d auth key(s)", devices, keys)
	return nil
}

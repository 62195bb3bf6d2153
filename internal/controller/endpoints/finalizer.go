package endpoints

import (
	"context"
	"errors"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/cleanup"
	"github.com/tailscale-gateway/tailscale-gateway/internal/controller/deadline"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tailnet"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tsapi"
)

// finalize removes the pool's devices and keys from the tailnet, then lets
// the pool go; garbage collection removes its Kubernetes objects, but for
// its ClusterRoleBinding, which the finalizer deletes. A
// TailscaleTailnet that no longer exists cannot be cleaned up: the pool is
// let go with a Warning rather than held forever. A cleanup that keeps
// failing (a dead or unauthorised tailnet API) lets go after the cleanup bound (cleanup.DefaultBound unless set),
// and at once when an administrator sets cleanup.SkipAnnotation, each with
// a Warning: a finalizer that held for ever would block its namespace's
// deletion.
func (r *Reconciler) finalize(ctx context.Context, ep *gatewayv1alpha1.TailscaleEndpoints) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(ep, Finalizer) {
		return ctrl.Result{}, nil
	}
	replicas, err := r.poolReplicas(ctx, ep)
	if err != nil {
		return ctrl.Result{}, err
	}
	if cleanup.Decide(ep, r.now(), r.cleanupBound()) == cleanup.Skipped {
		r.warning(ep, EventCleanupSkipped, "Delete", "%s is set: the pool's devices and auth keys, if any, are left in the tailnet", cleanup.SkipAnnotation)
	} else if err := r.cleanUpWithin(ctx, ep, replicas); err != nil {
		if cleanup.Decide(ep, r.now(), r.cleanupBound()) == cleanup.Retry {
			r.warning(ep, EventCleanupBlocked, "Delete", "cannot remove the pool's devices from the tailnet yet (the pool is let go %s after its deletion, or at once with the annotation %s=true): %v",
				r.cleanupBound(), cleanup.SkipAnnotation, err)
			return ctrl.Result{RequeueAfter: cleanup.RetryIn(ep, r.now(), r.retryDelay(), r.cleanupBound())}, nil
		}
		r.warning(ep, EventCleanupAbandoned, "Delete", "gave up removing the pool's devices and auth keys after %s; they may remain in the tailnet: %v", r.cleanupBound(), err)
	}
	for _, rep := range replicas {
		if err := r.letGo(ctx, rep.authKey); err != nil {
			return ctrl.Result{}, err
		}
	}
	// Cluster-scoped, so not garbage collected with the pool.
	if err := r.deleteClusterRoleBinding(ctx, ep); err != nil {
		return ctrl.Result{}, err
	}
	controllerutil.RemoveFinalizer(ep, Finalizer)
	return ctrl.Result{}, r.Client.Update(ctx, ep)
}

// cleanUpWithin cleans up under the tailnet's share of the reconcile's
// time, so that the finalizer can still be let go when it runs out.
func (r *Reconciler) cleanUpWithin(ctx context.Context, ep *gatewayv1alpha1.TailscaleEndpoints, replicas map[int]*replica) error {
	tailnetCtx, cancel := deadline.ForTailnet(ctx)
	defer cancel()
	return r.cleanUp(tailnetCtx, ep, replicas)
}

// cleanUp removes the pool's machines from its tailnet; a tailnet that no
// longer exists has nothing to remove them from (a Warning says so).
func (r *Reconciler) cleanUp(ctx context.Context, ep *gatewayv1alpha1.TailscaleEndpoints, replicas map[int]*replica) error {
	api, _, err := r.Tailnets.Resolve(ctx, ep.Spec.Tailnet)
	if errors.Is(err, tailnet.ErrTailnetNotFound) {
		r.warning(ep, EventTailnetGone, "Delete", "%v; the pool's devices and auth keys, if any, must be removed from the tailnet by hand", err)
		return nil
	}
	if err != nil {
		return err
	}
	return r.releaseTailnet(ctx, ep, api, replicas)
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

package services

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/cleanup"
	"github.com/tailscale-gateway/tailscale-gateway/internal/controller/deadline"
	"github.com/tailscale-gateway/tailscale-gateway/internal/coordination"
	"github.com/tailscale-gateway/tailscale-gateway/internal/observe"
	"github.com/tailscale-gateway/tailscale-gateway/internal/planner"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tsapi"
)

// finalize releases the VIP service from the tailnet status.tailnet
// records, which pools deleted first no longer tell (and from the one the
// pools name, when that differs: releaseTailnets): deleted when this
// TailscaleServices was the last to use it and no host named in its
// registry still serves it (releaseRegistered); a service that is not
// ours is left alone. A tailnet that no longer exists does not hold the
// object: a Warning says what may be left behind. A release that keeps
// failing (a dead or unauthorised tailnet API) lets go after
// the cleanup bound (cleanup.DefaultBound unless set), and at once with
// cleanup.SkipAnnotation, each with a Warning.
func (r *Reconciler) finalize(ctx context.Context, ts *gatewayv1alpha1.TailscaleServices) (reconcile.Result, error) {
	if !controllerutil.ContainsFinalizer(ts, Finalizer) {
		return reconcile.Result{}, nil
	}
	eps, err := observe.SelectedPools(ctx, r.Client, ts)
	if err != nil {
		return reconcile.Result{}, err
	}
	names := releaseNames(ts)
	name := strings.Join(names, ", ")
	computed, problem := r.tailnetOf(ts, eps)
	if problem != nil {
		computed = "" // pools in two tailnets: only the recorded one is known
	}
	tailnets := releaseTailnets(ts.Status.Tailnet, computed)
	switch {
	case cleanup.Decide(ts, r.now(), r.cleanupBound()) == cleanup.Skipped:
		r.Recorder.Eventf(ts, nil, corev1.EventTypeWarning, "VIPServiceNotReleased", "Delete",
			"%s is set: %s is left in the tailnet as it is", cleanup.SkipAnnotation, name)
	case len(tailnets) > 0:
		tailnetCtx, cancel := deadline.ForTailnet(ctx)
		err := r.releaseFrom(tailnetCtx, ts, tailnets, names)
		cancel()
		if err != nil {
			if cleanup.Decide(ts, r.now(), r.cleanupBound()) == cleanup.Retry {
				r.Recorder.Eventf(ts, nil, corev1.EventTypeWarning, "CleanupBlocked", "Delete",
					"cannot release %s yet (let go %s after the deletion, or at once with the annotation %s=true): %v", name, r.cleanupBound(), cleanup.SkipAnnotation, err)
				return reconcile.Result{RequeueAfter: cleanup.RetryIn(ts, r.now(), releaseRetry, r.cleanupBound())}, nil
			}
			r.Recorder.Eventf(ts, nil, corev1.EventTypeWarning, "CleanupAbandoned", "Delete",
				"gave up releasing %s after %s; it may remain in the tailnet: %v", name, r.cleanupBound(), err)
		}
	}
	// Garbage collection would delete it too; deleting it here does not
	// depend on a garbage collector running.
	if err := r.deleteAutoPool(ctx, ts); err != nil {
		return reconcile.Result{}, err
	}
	controllerutil.RemoveFinalizer(ts, Finalizer)
	return reconcile.Result{}, r.Client.Update(ctx, ts)
}

// releaseFrom releases the VIP services from each of the tailnets, all of
// them tried even when one fails.
func (r *Reconciler) releaseFrom(ctx context.Context, ts *gatewayv1alpha1.TailscaleServices, tailnets, names []string) error {
	var errs []error
	for _, tn := range tailnets {
		for _, name := range names {
			if err := r.release(ctx, ts, tn, name); err != nil {
				errs = append(errs, fmt.Errorf("tailnet %s: %s: %w", tn, name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// releaseRetry is how soon a failed release is tried again.
const releaseRetry = 30 * time.Second

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

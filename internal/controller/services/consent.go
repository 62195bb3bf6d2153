package services

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/log"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/coordination"
	"github.com/tailscale-gateway/tailscale-gateway/internal/planner"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tsapi"
)

// refuseSharing reports a VIP service another TailscaleServices owns that
// this one may not share (docs/design-notes.md, "Sharing needs consent"):
// a Conflict condition and one Warning. Nothing of the service is
// written, except that a TailscaleServices that had joined it (before
// consent was withdrawn, or while it still asked) takes its own entry out;
// its pools stop advertising the service once the status says Conflict.
// The service itself is never deleted: it is its owner's.
func (r *Reconciler) refuseSharing(ctx context.Context, api tsapi.Client, name string, me coordination.Entry, d coordination.Decision, o *planner.Observed) error {
	o.VIPProblem = planner.SharingConflict(name, d)
	r.warnOnce(o.Service.Object, gatewayv1alpha1.ConditionVIPServiceReady, "VIPServiceConflict", o.VIPProblem)
	if !d.Member {
		return nil
	}
	return updateRegistry(ctx, api, name, func(reg coordination.Registry) coordination.Registry {
		if !reg.Has(me) || reg.Owns(me) {
			return reg // gone already, or ours after all: the next pass decides again
		}
		return coordination.Depart(reg, me, o.Now.Time).Next
	}, func(tsapi.VIPService) {})
}

// releaseRegistered takes this TailscaleServices out of the VIP service's registry,
// and deletes the service when it was the last to use it: no other entry
// is live, and none of the devices the others name still serves it (an
// operator that was down for a while has a stale entry and machines that
// still host the service). Otherwise only our own entry goes.
func (r *Reconciler) releaseRegistered(ctx context.Context, api tsapi.Client, ts *gatewayv1alpha1.TailscaleServices, name string, reg coordination.Registry) error {
	me := planner.RegistryEntry(r.OperatorID, planner.Service{Object: ts})
	now := r.now()
	d := coordination.Depart(reg, me, now)
	if !d.InUse {
		serving, err := stillServing(ctx, api, d.Devices, now)
		if err != nil {
			return err
		}
		if serving == "" {
			if err := api.DeleteVIPService(ctx, name); err != nil {
				return fmt.Errorf("deleting VIP service %s: %w", name, err)
			}
			log.FromContext(ctx).Info("deleted VIP service: nobody else uses it", "vipService", name)
			r.Recorder.Eventf(ts, nil, corev1.EventTypeNormal, "VIPServiceDeleted", "Delete", "%s deleted from the tailnet: nobody else uses it", name)
			return nil
		}
		log.FromContext(ctx).Info("left VIP service in place: a stale entry's device still serves it", "vipService", name, "device", serving)
		r.Recorder.Eventf(ts, nil, corev1.EventTypeNormal, "VIPServiceKept", "Delete",
			"%s is left in the tailnet: device %s, named by another operator's entry in its registry, still serves it", name, serving)
	}
	return updateRegistry(ctx, api, name, func(reg coordination.Registry) coordination.Registry {
		if !reg.Has(me) {
			return reg
		}
		return coordination.Depart(reg, me, now).Next
	}, func(tsapi.VIPService) {})
}

// stillServing is the first of the devices that may still serve (see
// coordination.Serving), or "" when none does. A device the API does not
// know is gone.
func stillServing(ctx context.Context, api tsapi.Client, devices []string, now time.Time) (string, error) {
	for _, id := range devices {
		dev, err := api.GetDevice(ctx, id)
		if tsapi.IsNotFound(err) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("asking whether device %s still serves: %w", id, err)
		}
		if coordination.Serving(dev.ConnectedToControl, dev.LastSeen, now) {
			return id, nil
		}
	}
	return "", nil
}

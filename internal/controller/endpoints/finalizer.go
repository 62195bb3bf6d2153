package endpoints

import (
	"cmp"
	"context"
	"errors"
	"maps"
	"slices"

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
	api, _, err := r.Tailnets.Resolve(ctx, ep.Spec.Tailnet)
	switch {
	case errors.Is(err, tailnet.ErrTailnetNotFound):
		r.warning(ep, EventTailnetGone, "Delete", "%v; the pool's devices and auth keys, if any, must be removed from the tailnet by hand", err)
	case err != nil:
		r.warning(ep, EventCleanupBlocked, "Delete", "cannot remove the pool's devices from the tailnet yet: %v", err)
		return ctrl.Result{RequeueAfter: r.retryDelay()}, nil
	default:
		if err := r.releaseTailnet(ctx, ep, api); err != nil {
			return ctrl.Result{}, err
		}
	}
	controllerutil.RemoveFinalizer(ep, Finalizer)
	return ctrl.Result{}, r.Client.Update(ctx, ep)
}

// releaseTailnet deletes every device the pool's machines recorded and
// revokes every key minted for them. For machines that recorded no device
// (say, one that joined but crashed before reporting), a device named like
// the machine and carrying all the pool's tags is taken to be theirs.
func (r *Reconciler) releaseTailnet(ctx context.Context, ep *gatewayv1alpha1.TailscaleEndpoints, api tsapi.Client) error {
	replicas, err := r.poolReplicas(ctx, ep)
	if err != nil {
		return err
	}
	devices, err := r.unrecordedDevices(ctx, ep, api, replicas)
	if err != nil {
		return err
	}
	var keys []string
	for _, rep := range replicas {
		if id := rep.deviceID(); id != "" {
			devices = append(devices, id)
		}
		if id := rep.authKeyID(); id != "" {
			keys = append(keys, id)
		}
	}
	for _, id := range devices {
		if err := deleteDevice(ctx, api, id); err != nil {
			return err
		}
	}
	for _, id := range keys {
		if err := revokeAuthKey(ctx, api, id); err != nil {
			return err
		}
	}
	r.normal(ep, EventReleased, "Delete", "deleted %d device(s) and revoked %d auth key(s)", len(devices), len(keys))
	return nil
}

// unrecordedDevices finds devices of machines whose state names none.
func (r *Reconciler) unrecordedDevices(ctx context.Context, ep *gatewayv1alpha1.TailscaleEndpoints, api tsapi.Client, replicas map[int]*replica) ([]string, error) {
	pods := map[string]bool{}
	for _, pod := range podNames(ep) {
		pods[pod] = true
	}
	for _, rep := range replicas {
		pods[rep.pod] = rep.deviceID() == ""
	}
	maps.DeleteFunc(pods, func(_ string, unrecorded bool) bool { return !unrecorded })
	if len(pods) == 0 {
		return nil, nil
	}
	all, err := api.ListDevices(ctx)
	if err != nil {
		return nil, err
	}
	return devicesOfMachines(all, pods, ep.Spec.Tags), nil
}

// devicesOfMachines picks the devices whose hostname is one of pods and
// that carry every one of tags.
func devicesOfMachines(devices []tsapi.Device, pods map[string]bool, tags []gatewayv1alpha1.Tag) []string {
	var out []string
	for _, d := range devices {
		if !pods[d.Hostname] || !hasTags(d.Tags, tags) {
			continue
		}
		out = append(out, cmp.Or(d.NodeID, d.ID))
	}
	return out
}

func hasTags(have []string, want []gatewayv1alpha1.Tag) bool {
	for _, t := range want {
		if !slices.Contains(have, string(t)) {
			return false
		}
	}
	return true
}

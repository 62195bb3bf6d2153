package endpoints

import (
	"context"
	"fmt"
	"slices"

	"sigs.k8s.io/controller-runtime/pkg/log"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tsapi"
)

// inventory reads the tailnet's devices and keys at most once per
// reconcile, and only when something needs them: a steady pool asks the
// API nothing.
type inventory struct {
	api     tsapi.Client
	devices []tsapi.Device
	keys    []tsapi.AuthKeyMeta
	read    struct{ devices, keys bool }
	// swept is set once the pool's orphaned keys are revoked (orphans.go).
	swept bool
}

func (inv *inventory) listDevices(ctx context.Context) ([]tsapi.Device, error) {
	if !inv.read.devices {
		devices, err := inv.api.ListDevices(ctx)
		if err != nil {
			return nil, err
		}
		inv.devices, inv.read.devices = devices, true
	}
	return inv.devices, nil
}

func (inv *inventory) listKeys(ctx context.Context) ([]tsapi.AuthKeyMeta, error) {
	if !inv.read.keys {
		keys, err := inv.api.ListAuthKeys(ctx)
		if err != nil {
			return nil, err
		}
		inv.keys, inv.read.keys = keys, true
	}
	return inv.keys, nil
}

// recordDevices finds, for each machine that has joined but whose device
// the operator has not recorded yet, its device in the API, and records
// it in the machine's auth key Secret. A machine whose device cannot be
// told apart yet is tried again on its next report.
func (r *Reconciler) recordDevices(ctx context.Context, inv *inventory, replicas map[int]*replica) error {
	for _, ordinal := range sortedOrdinals(replicas) {
		rep := replicas[ordinal]
		id, ok := identityOf(rep.authKey)
		if !ok || rep.recordedDevice() != "" || !rep.hasDevice() {
			continue
		}
		devices, err := inv.listDevices(ctx)
		if err != nil {
			return fmt.Errorf("finding the device of machine %s: %w", rep.pod, err)
		}
		d, ok := pickDevice(id.ownDevices(devices), rep.reportedDevice())
		if !ok {
			continue
		}
		sec := rep.authKey.DeepCopy()
		sec.Data[pool.DeviceIDKey] = []byte(deviceRef(d))
		if err := r.Client.Update(ctx, sec); err != nil {
			return fmt.Errorf("recording the device of machine %s: %w", rep.pod, err)
		}
		rep.authKey = sec
		log.FromContext(ctx).Info("recorded the machine's device", "pod", rep.pod, "deviceID", deviceRef(d), "hostname", d.Hostname)
	}
	return nil
}

// release removes one machine from the tailnet: the devices the API
// confirms are its own, and its key if the API confirms it was minted
// for it. Anything it cannot tie to the machine is left alone, with a
// Warning. It returns how many devices and keys it removed.
func (r *Reconciler) release(ctx context.Context, ep *gatewayv1alpha1.TailscaleEndpoints, inv *inventory, rep *replica) (devices, keys int, err error) {
	id, known := identityOf(rep.authKey)
	var gone []tsapi.Device
	if known {
		if gone, err = r.ownDevicesOf(ctx, ep, inv, rep, id); err != nil {
			return 0, 0, err
		}
	}
	for _, d := range gone {
		if err := deleteDevice(ctx, inv.api, deviceRef(d)); err != nil {
			return 0, 0, err
		}
	}
	r.warnAboutReport(ep, rep, known, gone)
	revoked, err := r.revokeOwnKey(ctx, ep, inv, rep, id, known)
	if err != nil {
		return 0, 0, err
	}
	return len(gone), revoked, nil
}

// ownDevicesOf is the machine's recorded device once the API confirms
// it, or, when none was recorded, every device tied to the machine.
func (r *Reconciler) ownDevicesOf(ctx context.Context, ep *gatewayv1alpha1.TailscaleEndpoints, inv *inventory, rep *replica, id machineIdentity) ([]tsapi.Device, error) {
	if ref := rep.recordedDevice(); ref != "" {
		d, err := inv.api.GetDevice(ctx, ref)
		if tsapi.IsNotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if why := id.disown(d); why != "" {
			r.warning(ep, EventDeviceNotOwned, "DeleteDevice",
				"device %s recorded for machine %s is left in the tailnet: %s", ref, rep.pod, why)
			return nil, nil
		}
		return []tsapi.Device{d}, nil
	}
	all, err := inv.listDevices(ctx)
	if err != nil {
		return nil, err
	}
	return id.ownDevices(all), nil
}

// warnAboutReport says so when the machine reports a device that is not
// among those removed as its own: its report is never trusted for that.
func (r *Reconciler) warnAboutReport(ep *gatewayv1alpha1.TailscaleEndpoints, rep *replica, known bool, gone []tsapi.Device) {
	reported := rep.reportedDevice()
	if reported == "" || reported == rep.recordedDevice() || slices.ContainsFunc(gone, func(d tsapi.Device) bool { return isDevice(d, reported) }) {
		return
	}
	why := "it is not the device the operator recorded for the machine"
	if !known {
		why = "the machine's auth key Secret does not say which device is its own"
	}
	r.warning(ep, EventDeviceNotOwned, "DeleteDevice",
		"machine %s reports device %s, which is left in the tailnet: %s; remove it by hand if it was the machine's", rep.pod, reported, why)
}

// revokeOwnKey revokes the machine's key when the API lists it and
// confirms it was minted for this machine.
func (r *Reconciler) revokeOwnKey(ctx context.Context, ep *gatewayv1alpha1.TailscaleEndpoints, inv *inventory, rep *replica, id machineIdentity, known bool) (int, error) {
	keyID := rep.authKeyID()
	if keyID == "" {
		return 0, nil
	}
	keys, err := inv.listKeys(ctx)
	if err != nil {
		return 0, err
	}
	i := slices.IndexFunc(keys, func(k tsapi.AuthKeyMeta) bool { return k.ID == keyID })
	if i < 0 || keys[i].Revoked {
		return 0, nil // already gone
	}
	why := "the machine's auth key Secret does not say which key is its own"
	if known {
		why = disownKey(keys[i], keyDescription(r.OperatorID, ep.Namespace, ep.Name, rep.ordinal), id)
	}
	if why != "" {
		r.warning(ep, EventAuthKeyNotOwned, "RevokeAuthKey", "auth key %s named by machine %s's Secret is left in the tailnet: %s", keyID, rep.pod, why)
		return 0, nil
	}
	return 1, revokeAuthKey(ctx, inv.api, keyID)
}

func sortedOrdinals(replicas map[int]*replica) []int {
	out := make([]int, 0, len(replicas))
	for ordinal := range replicas {
		out = append(out, ordinal)
	}
	slices.Sort(out)
	return out
}

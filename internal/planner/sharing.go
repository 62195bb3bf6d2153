package planner

import (
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/coordination"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tenancy"
)

// AsksToJoin reports whether the TailscaleServices asks to join the VIP
// service called name when another TailscaleServices owns it:
// spec.vipService.sharing.join, or the service named in
// serviceDiscovery.vipServiceSelector.serviceNames (with discovery on).
// Matching by tags, or discovery without a selector, is not asking: that
// is how two clusters get merged by accident.
func AsksToJoin(ts *gatewayv1alpha1.TailscaleServices, name string) bool {
	if v := ts.Spec.VIPService; v != nil && v.Sharing != nil && v.Sharing.Join {
		return true
	}
	sd := ts.Spec.ServiceDiscovery
	return sd != nil && sd.DiscoverVIPServices && sd.VIPServiceSelector != nil &&
		slices.Contains(sd.VIPServiceSelector.ServiceNames, gatewayv1alpha1.VIPServiceName(name))
}

// HostDevices are the device IDs of the machines of the pools that host a
// VIP service (not egress-only), sorted; machines whose device is not
// known yet are left out.
func HostDevices(pools []Pool) []string {
	var out []string
	for _, p := range pools {
		if !p.hostsVIPService() {
			continue
		}
		for _, m := range p.Machines {
			if m.DeviceID != "" && !slices.Contains(out, m.DeviceID) {
				out = append(out, m.DeviceID)
			}
		}
	}
	slices.Sort(out)
	return out
}

// SharingConflict is the problem of a VIP service name taken by a service
// another TailscaleServices owns, which Decide found this one may not
// share: who owns it, and which fields on which side would allow sharing.
func SharingConflict(name string, d coordination.Decision) *Problem {
	owner := fmt.Sprintf("TailscaleServices %s of operator %s", d.Owner.Object, d.Owner.OperatorID)
	const ask = "spec.vipService.sharing.join: true here (or name it in spec.serviceDiscovery.vipServiceSelector.serviceNames)"
	var why, fix string
	switch {
	case !d.Allowed && !d.Asked:
		why = "it does not allow sharing and this TailscaleServices does not ask to join"
		fix = fmt.Sprintf("to share it set spec.vipService.sharing.allow: true on %s and %s", owner, ask)
	case !d.Allowed:
		why = "it does not allow sharing"
		fix = fmt.Sprintf("to share it set spec.vipService.sharing.allow: true on %s", owner)
	default:
		why = "it allows sharing but this TailscaleServices does not ask to join"
		fix = "to join it set " + ask
	}
	left := "it is left untouched"
	if d.Member {
		left = "this TailscaleServices took its own entry out of the service's registry and its pools stopped hosting it; the service is left to its owner"
	}
	return &Problem{Reason: gatewayv1alpha1.ReasonConflict, Message: fmt.Sprintf(
		"%s is owned by %s; %s, so %s; %s, or choose another spec.vipService.name", name, owner, why, left, fix)}
}

// ForeignConflict is the problem of a VIP service name taken by a service
// Tailscale Gateway did not create.
func ForeignConflict(name string) *Problem {
	return &Problem{Reason: gatewayv1alpha1.ReasonConflict, Message: fmt.Sprintf(
		"%s already exists in the tailnet and was not created by Tailscale Gateway; it is left untouched: choose another spec.vipService.name, "+
			"or set serviceDiscovery.discoverVIPServices with a vipServiceSelector that matches it to use it as it is", name)}
}

// UnreadableRegistry is the problem of a VIP service whose registry
// annotation cannot be read (err names the annotation): who owns the
// service, and whether they consent to share it, is unknown, so it is
// neither joined, nor used as it is, nor written.
func UnreadableRegistry(name string, err error) *Problem {
	return &Problem{Reason: gatewayv1alpha1.ReasonConflict, Message: fmt.Sprintf(
		"%s exists in the tailnet but its registry cannot be read (%v); it is left untouched: fix or remove the annotation in the tailnet, "+
			"or choose another spec.vipService.name", name, err)}
}

// approvalNote tells a user who set autoApprove on a service used as it
// is that the policy is not ours to edit for it.
func approvalNote(o Observed) string {
	v := o.Service.Object.Spec.VIPService
	if !o.UsedAsIs || v == nil || !v.AutoApprove {
		return ""
	}
	return "; it was not created by Tailscale Gateway and is used as it is, so spec.vipService.autoApprove leaves the tailnet policy alone: " +
		"approving its hosts (autoApprovers.services) is up to the service's owner"
}

// Unconfirmed reports whether the TailscaleServices' pools must wait
// before advertising the VIP service called name in the tailnet (see
// Service.Withhold): its status, written by the services controller, does
// not name that service yet, or reports that the name is taken by a
// service it may not share, or that the tailnet's access refuses it
// (tenancy). Advertising a service is hosting it, so a TailscaleServices
// just created waits for that first check rather than join another's
// service for a moment.
func Unconfirmed(ts *gatewayv1alpha1.TailscaleServices, name string) bool {
	vs := ts.Status.VIPServiceStatus
	if vs == nil || vs.ServiceName != name {
		return true
	}
	c := meta.FindStatusCondition(ts.Status.Conditions, gatewayv1alpha1.ConditionVIPServiceReady)
	return c != nil && c.Status == metav1.ConditionFalse && (c.Reason == gatewayv1alpha1.ReasonConflict || tenancy.IsRefusal(c.Reason))
}

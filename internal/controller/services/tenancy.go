package services

import (
	"context"
	"fmt"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/observe"
	"github.com/tailscale-gateway/tailscale-gateway/internal/planner"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tailnet"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tenancy"
)

// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch

// gate is a tailnet's access rules as they apply to one TailscaleServices.
// The VIP service is checked twice before anything is written to the
// tailnet: its namespace and tags as soon as the tailnet is known (before
// any API call), its name once it is chosen (discovery may choose it).
// A refused TailscaleServices writes nothing to the tailnet; a VIP service
// it wrote before its access was tightened is left as it is (never
// deleted by a selector edit) and still released by its finalizer.
type gate struct {
	access  *gatewayv1alpha1.TailnetAccess
	tailnet string
	ns      tenancy.Namespace
}

func (r *Reconciler) gate(ctx context.Context, ts *gatewayv1alpha1.TailscaleServices, info tailnet.Info) (gate, error) {
	ns, err := observe.Namespace(ctx, r.Client, ts.Namespace)
	if err != nil {
		return gate{}, fmt.Errorf("reading namespace %s for the tailnet's access rules: %w", ts.Namespace, err)
	}
	return gate{access: info.Access, tailnet: info.Name, ns: ns}, nil
}

// admitTags checks the namespace and the tags the service writes to the
// tailnet: its own, and with autoApprove its hosts', which the policy's
// autoApprovers would name.
func (r *Reconciler) admitTags(g gate, svc planner.Service, o *planner.Observed) bool {
	ts := svc.Object
	own := tenancy.Request{TagsField: "spec.vipService.tags"}
	if vs := ts.Spec.VIPService; vs != nil {
		for _, t := range vs.Tags {
			own.Tags = append(own.Tags, string(t))
		}
	}
	if !r.admit(g, ts, own, o) {
		return false
	}
	if ts.Spec.VIPService == nil || !ts.Spec.VIPService.AutoApprove {
		return true
	}
	hosts := tenancy.Request{Tags: hostTags(svc.Pools), TagsField: "spec.tags of the selected pools (autoApprove writes them into the tailnet policy)"}
	return r.admit(g, ts, hosts, o)
}

// admitName checks the name of the VIP service the TailscaleServices
// would create or join.
func (r *Reconciler) admitName(g gate, ts *gatewayv1alpha1.TailscaleServices, name string, o *planner.Observed) bool {
	return r.admit(g, ts, tenancy.Request{VIPServiceName: name}, o)
}

// admit records a refusal as the VIPServiceReady problem, announced once.
func (r *Reconciler) admit(g gate, ts *gatewayv1alpha1.TailscaleServices, req tenancy.Request, o *planner.Observed) bool {
	refusal := tenancy.Check(g.access, g.tailnet, g.ns, req)
	if refusal == nil {
		return true
	}
	o.VIPProblem = &planner.Problem{Reason: refusal.Reason, Message: refusal.Message + ". Nothing is written to the tailnet for this TailscaleServices until it is allowed"}
	r.warnOnce(ts, gatewayv1alpha1.ConditionVIPServiceReady, refusal.Reason, o.VIPProblem)
	return false
}

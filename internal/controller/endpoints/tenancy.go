package endpoints

import (
	"context"
	"fmt"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/observe"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tailnet"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tenancy"
)

// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch

// admission asks the pool's tailnet whether the pool's namespace may use it
// with the pool's tags. admitted is false when it may not, and also when
// the TailscaleTailnet could not be read (info has no name): a tailnet
// nobody can see the access of admits nobody. refusal says why, for the
// Ready condition; it is nil when the tailnet could not be read, whose
// error the condition shows instead.
//
// A pool that is not admitted gets nothing: no auth key, no object
// created or updated, no replica removed. A pool that was running when
// its access was tightened keeps its machines as they are (a selector
// edit must never take a team's running service down); the condition
// says that it is frozen until it is allowed again. Its finalizer still
// cleans up what it recorded.
func (r *Reconciler) admission(ctx context.Context, ep *gatewayv1alpha1.TailscaleEndpoints, info tailnet.Info) (admitted bool, refusal *tenancy.Refusal, err error) {
	if info.Name == "" {
		return false, nil, nil
	}
	ns, err := observe.Namespace(ctx, r.Client, ep.Namespace)
	if err != nil {
		return false, nil, fmt.Errorf("reading namespace %s for the tailnet's access rules: %w", ep.Namespace, err)
	}
	req := tenancy.Request{TagsField: "spec.tags"}
	for _, t := range ep.Spec.Tags {
		req.Tags = append(req.Tags, string(t))
	}
	refusal = tenancy.Check(info.Access, info.Name, ns, req)
	return refusal == nil, refusal, nil
}

// refusedCondition is the Ready condition of a pool its tailnet refuses.
func refusedCondition(c *tenancy.Refusal) (reason, message string) {
	return c.Reason, c.Message + ". Until it is allowed, nothing is created, changed or minted for this pool; machines already running are left running"
}

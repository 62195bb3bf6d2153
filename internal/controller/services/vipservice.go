package services

import (
	"context"
	"errors"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/log"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/coordination"
	"github.com/tailscale-gateway/tailscale-gateway/internal/planner"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tailnet"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tsapi"
)

// ensureVIPService creates or updates the VIP service when it is ours and
// differs, attaches to it as a consumer when another TailscaleServices
// owns it and both consent (or uses as it is one nobody manages that
// discovery found), and records in o what the tailnet has. Problems the user must fix are recorded in o.VIPProblem;
// errors are returned only when trying again may help.
func (r *Reconciler) ensureVIPService(ctx context.Context, svc *planner.Service, eps []gatewayv1alpha1.TailscaleEndpoints, o *planner.Observed) error {
	ts := svc.Object
	tn, problem := r.tailnetOf(ts, eps)
	if problem != nil {
		o.VIPProblem = problem
		return nil
	}
	api, info, err := r.Tailnets.Resolve(ctx, tn)
	if err != nil {
		if isConfigError(err) {
			o.VIPProblem = &planner.Problem{Reason: gatewayv1alpha1.ReasonTailnetNotReady, Message: err.Error()}
			return nil
		}
		return err
	}
	o.Domain = info.Domain
	g, err := r.gate(ctx, ts, info)
	if err != nil || !r.admitTags(g, *svc, o) {
		return err
	}
	if err := r.leaveTailnet(ctx, ts, tn, o); err != nil {
		return err
	}
	if err := r.recordTailnet(ctx, ts, tn); err != nil {
		return err
	}
	// The status this pass writes starts from what is recorded now: a pass
	// whose calls fail must not clear it (planner: vipTailnet).
	o.Previous.Tailnet = tn
	if err := r.leaveOldName(ctx, ts, tn); err != nil {
		return err
	}
	// First from the tailnet's shared snapshot; anything that would write
	// starts over on fresh reads (see tsapi.Snapshot).
	snap := r.snapshot(tn)
	before, beforeSvc := *o, *svc
	err = r.ensureOn(ctx, snap.ReadOnly(api), svc, o, g)
	if errors.Is(err, tsapi.ErrNeedsFreshRead) {
		*o, *svc = before, beforeSvc
		defer snap.Invalidate() // what this pass writes
		err = r.ensureOn(ctx, api, svc, o, g)
	}
	if o.VIP != nil {
		o.Tailnet = tn // status.tailnet: where a deletion releases it
	}
	return err
}

// ensureOn is ensureVIPService's work once the tailnet's API is known.
func (r *Reconciler) ensureOn(ctx context.Context, api tsapi.Client, svc *planner.Service, o *planner.Observed, g gate) error {
	ts := svc.Object
	name, matched, problem, err := chooseName(ctx, api, ts)
	if err != nil {
		return err
	}
	o.Discovered = matched
	if problem != nil {
		o.VIPProblem = problem
		return nil
	}
	if !r.admitName(g, ts, name, o) {
		return nil
	}
	svc.Name = "" // chosen again: the spec's, or the one discovery attaches to
	if name != planner.VIPServiceName(ts) {
		svc.Name = name
	}
	o.Service = *svc
	if err := r.putVIPService(ctx, api, *svc, o); err != nil {
		return err
	}
	// The policy is edited only for a service we own or joined by consent;
	// one used as it is belongs to someone else, who approves its hosts.
	if o.VIPProblem == nil && !o.UsedAsIs && ts.Spec.VIPService != nil && ts.Spec.VIPService.AutoApprove {
		if err := ensureApproval(ctx, api, name, hostTags(svc.Pools)); errors.Is(err, tsapi.ErrNeedsFreshRead) {
			return err
		} else if err != nil {
			o.VIPProblem = &planner.Problem{Reason: gatewayv1alpha1.ReasonApprovalPending, Message: fmt.Sprintf(
				"could not let the pools' tags host the service in the tailnet policy (autoApprovers.services); hosts await approval: %v", err)}
		}
	}
	return nil
}

// putVIPService writes the VIP service if it is absent, or ours and
// different; joins one another TailscaleServices owns only when both
// consent (coordination.Decide); a service nobody manages is used as it
// is when discovery matched it, and never touched otherwise; one whose
// registry cannot be read is never touched.
func (r *Reconciler) putVIPService(ctx context.Context, api tsapi.Client, svc planner.Service, o *planner.Observed) error {
	ts := svc.Object
	name := svc.VIPName()
	me := planner.RegistryEntry(r.OperatorID, svc)
	actual, err := api.GetVIPService(ctx, name)
	if tsapi.IsNotFound(err) {
		if len(planner.VIPPorts(svc)) == 0 {
			o.VIPProblem = &planner.Problem{Reason: gatewayv1alpha1.ReasonNoPorts, Message: "the VIP service has no ports: set spec.vipService.ports or select a pool with spec.proxy.ports"}
			return nil
		}
		return r.own(ctx, api, svc, nil, o)
	}
	if err != nil {
		return err
	}
	reg, managed, perr := coordination.Parse(actual.Annotations)
	if perr != nil {
		o.VIPProblem = planner.UnreadableRegistry(name, perr)
		r.warnOnce(ts, gatewayv1alpha1.ConditionVIPServiceReady, "VIPServiceConflict", o.VIPProblem)
		return nil
	}
	if !managed {
		if discovering(ts) && matchesDiscovery(ts, actual) {
			o.VIP, o.UsedAsIs = &actual, true // nobody's registry to join
			return nil
		}
		o.VIPProblem = planner.ForeignConflict(name)
		r.warnOnce(ts, gatewayv1alpha1.ConditionVIPServiceReady, "VIPServiceConflict", o.VIPProblem)
		return nil
	}
	d := coordination.Decide(reg, me, planner.AsksToJoin(ts, name))
	switch d.Use {
	case coordination.Own:
		o.VIP = &actual
		return r.own(ctx, api, svc, &reg, o)
	case coordination.Join:
		o.VIP = &actual
		return r.consume(ctx, api, name, me, o)
	}
	return r.refuseSharing(ctx, api, name, me, d, o)
}

// own keeps the VIP service as the planner wants it, with this operator as
// the registry's owner; it writes only when something differs.
func (r *Reconciler) own(ctx context.Context, api tsapi.Client, svc planner.Service, current *coordination.Registry, o *planner.Observed) error {
	next := coordination.ForOwner(current, planner.RegistryEntry(r.OperatorID, svc), o.Now.Time)
	desired := planner.DesiredVIPService(svc, next)
	o.Registry = &next
	o.Registered = lastRegistration(svc.Object, next)
	if o.VIP != nil && !tsapi.NeedsUpdate(*o.VIP, desired) {
		return nil
	}
	written, err := api.PutVIPService(ctx, desired)
	if err != nil {
		return fmt.Errorf("writing VIP service %s: %w", desired.Name, err)
	}
	log.FromContext(ctx).Info("wrote VIP service", "vipService", written.Name, "ports", written.Ports)
	o.VIP, o.Registered = &written, &o.Now
	r.Recorder.Eventf(svc.Object, nil, corev1.EventTypeNormal, "VIPServiceRegistered", "Register", "%s registered with ports %v", written.Name, written.Ports)
	return nil
}

// lastRegistration carries the last write forward; after a restart, when
// no write is needed, the registry's own time stands in.
func lastRegistration(ts *gatewayv1alpha1.TailscaleServices, reg coordination.Registry) *metav1.Time {
	if s := ts.Status.VIPServiceStatus; s != nil && s.LastRegistration != nil {
		return s.LastRegistration
	}
	return &metav1.Time{Time: reg.Owner.LastSeen}
}

// warnOnce records a Warning when the condition is not already False for
// the same reason, so a standing problem is one Event, not one per resync.
func (r *Reconciler) warnOnce(ts *gatewayv1alpha1.TailscaleServices, condType, eventReason string, p *planner.Problem) {
	c := meta.FindStatusCondition(ts.Status.Conditions, condType)
	if c != nil && c.Status == metav1.ConditionFalse && c.Reason == p.Reason {
		return
	}
	r.Recorder.Eventf(ts, nil, corev1.EventTypeWarning, eventReason, "Register", "%s", p.Message)
}

// hostTags are the tags of the pools whose machines host the service.
func hostTags(pools []planner.Pool) []string {
	var tags []string
	for _, p := range pools {
		if p.ConnectionType == gatewayv1alpha1.ConnectionTypeEgress {
			continue
		}
		for _, t := range p.Tags {
			if !slices.Contains(tags, t) {
				tags = append(tags, t)
			}
		}
	}
	slices.Sort(tags)
	return tags
}

// ensureApproval makes the policy's autoApprovers.services let the tags
// host the service, by a conditional update: a concurrent edit makes the
// write fail (412), and the policy is read again, never overwritten.
func ensureApproval(ctx context.Context, api tsapi.Client, service string, tags []string) error {
	if len(tags) == 0 {
		return nil
	}
	for range 3 {
		pol, err := api.GetPolicy(ctx)
		if err != nil {
			return err
		}
		out, changed, err := tsapi.EnsureServiceApprovers(pol.HuJSON, service, tags)
		if err != nil || !changed {
			return err
		}
		_, err = api.SetPolicy(ctx, out, pol.ETag)
		if err == nil {
			log.FromContext(ctx).Info("updated the tailnet policy: its tags may host the VIP service", "vipService", service, "tags", tags)
			return nil
		}
		if !tsapi.IsPreconditionFailed(err) {
			return fmt.Errorf("updating the tailnet policy's autoApprovers for %s: %w", service, err)
		}
	}
	return errors.New("the tailnet policy changed under every attempt; trying again later")
}

func isConfigError(err error) bool {
	return errors.Is(err, tailnet.ErrTailnetNotFound) || errors.Is(err, tailnet.ErrSecretMissing) || errors.Is(err, tailnet.ErrKeyMissing)
}

// Package observe reads what the planner decides from: pools with their
// machines and resolved backends, the TailscaleServices that select a pool
// (through the selection index), and the reports of the machines. It only
// reads; every controller that plans uses it so they see the same world.
package observe

import (
	"context"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/backend"
	"github.com/tailscale-gateway/tailscale-gateway/internal/planner"
	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
	"github.com/tailscale-gateway/tailscale-gateway/internal/selection"
)

// SelectedPools are the TailscaleEndpoints in the service's namespace its
// selector chooses, sorted by name, being deleted or not.
func SelectedPools(ctx context.Context, r client.Reader, ts *gatewayv1alpha1.TailscaleServices) ([]gatewayv1alpha1.TailscaleEndpoints, error) {
	sel, err := selection.Selector(&ts.Spec.Selector)
	if err != nil {
		return nil, nil // malformed selectors select nothing; admission refuses them anyway
	}
	var list gatewayv1alpha1.TailscaleEndpointsList
	if err := r.List(ctx, &list, client.InNamespace(ts.Namespace), client.MatchingLabelsSelector{Selector: sel}); err != nil {
		return nil, err
	}
	items := slices.DeleteFunc(list.Items, func(ep gatewayv1alpha1.TailscaleEndpoints) bool { return ep.DeletionTimestamp != nil })
	slices.SortFunc(items, func(a, b gatewayv1alpha1.TailscaleEndpoints) int { return strings.Compare(a.Name, b.Name) })
	return items, nil
}

// ServicesSelecting are the TailscaleServices whose selector chooses a pool
// with these labels, found through the selection index, sorted by name.
func ServicesSelecting(ctx context.Context, r client.Reader, namespace string, set map[string]string) ([]gatewayv1alpha1.TailscaleServices, error) {
	seen := map[string]bool{}
	var out []gatewayv1alpha1.TailscaleServices
	for _, key := range selection.LookupKeys(set) {
		var list gatewayv1alpha1.TailscaleServicesList
		if err := r.List(ctx, &list, client.InNamespace(namespace), client.MatchingFields{selection.IndexField: key}); err != nil {
			return nil, err
		}
		for _, ts := range list.Items {
			if !seen[ts.Name] && selection.Matches(&ts.Spec.Selector, set) {
				seen[ts.Name] = true
				out = append(out, ts)
			}
		}
	}
	slices.SortFunc(out, func(a, b gatewayv1alpha1.TailscaleServices) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// IndexAnchors is the extractor of selection.IndexField.
func IndexAnchors(obj client.Object) []string {
	return selection.Anchors(&obj.(*gatewayv1alpha1.TailscaleServices).Spec.Selector)
}

// Pool is the planner's view of a TailscaleEndpoints, its backend resolved.
// A backend that does not resolve yields a pool without targets; the
// endpoints controller reports why in the pool's own status.
func Pool(ctx context.Context, r client.Reader, ep *gatewayv1alpha1.TailscaleEndpoints) (planner.Pool, error) {
	res, err := resolveBackend(ctx, r, ep)
	if err != nil {
		return planner.Pool{}, err
	}
	p := planner.Pool{
		Name: ep.Name, Namespace: ep.Namespace, Labels: ep.Labels,
		ConnectionType: ep.Spec.Proxy.ConnectionType, Ports: ep.Spec.Proxy.Ports,
		Machines: ep.Status.Machines, Backend: res,
	}
	for _, t := range ep.Spec.Tags {
		p.Tags = append(p.Tags, string(t))
	}
	if len(p.Ports) == 0 {
		for _, t := range res.Targets {
			p.Ports = append(p.Ports, gatewayv1alpha1.ProxyPort{Port: t.Port, Protocol: t.Protocol})
		}
	}
	return p, nil
}

// Pools is Pool of each.
func Pools(ctx context.Context, r client.Reader, eps []gatewayv1alpha1.TailscaleEndpoints) ([]planner.Pool, error) {
	out := make([]planner.Pool, 0, len(eps))
	for i := range eps {
		p, err := Pool(ctx, r, &eps[i])
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func resolveBackend(ctx context.Context, r client.Reader, ep *gatewayv1alpha1.TailscaleEndpoints) (backend.Result, error) {
	name := backend.ServiceName(ep)
	if name == "" {
		res, _ := backend.Resolve(ep, nil, nil)
		return res, nil
	}
	svc := &corev1.Service{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: ep.Namespace, Name: name}, svc); err != nil {
		if apierrors.IsNotFound(err) {
			res, _ := backend.Resolve(ep, nil, nil)
			return res, nil
		}
		return backend.Result{}, err
	}
	var slices discoveryv1.EndpointSliceList
	if err := r.List(ctx, &slices, client.InNamespace(ep.Namespace), client.MatchingLabels{discoveryv1.LabelServiceName: name}); err != nil {
		return backend.Result{}, err
	}
	res, _ := backend.Resolve(ep, svc, slices.Items)
	return res, nil
}

// Reports reads the machines' reports from their state Secrets; machines
// that have not reported yet are absent.
func Reports(ctx context.Context, r client.Reader, pools []planner.Pool) (map[string]pool.MachineStatus, error) {
	out := map[string]pool.MachineStatus{}
	for _, p := range pools {
		for _, m := range p.Machines {
			st, ok, err := Report(ctx, r, p.Namespace, m.Name)
			if err != nil {
				return nil, err
			}
			if ok {
				out[m.Name] = st
			}
		}
	}
	return out, nil
}

// Report reads one machine's report from its state Secret; ok is false
// when there is none yet.
func Report(ctx context.Context, r client.Reader, namespace, machine string) (st pool.MachineStatus, ok bool, err error) {
	sec := &corev1.Secret{}
	err = r.Get(ctx, client.ObjectKey{Namespace: namespace, Name: pool.StateSecretName(machine)}, sec)
	if apierrors.IsNotFound(err) {
		return st, false, nil
	}
	if err != nil {
		return st, false, err
	}
	// A report that cannot be read is left out like a missing one (the
	// pool's Available condition says why): it is the machine's to write,
	// so anything may be there.
	raw := sec.Data[pool.StatusKey]
	if len(raw) == 0 {
		return st, false, nil
	}
	if st, err = pool.ParseStatus(raw); err != nil {
		return st, false, nil
	}
	return st, true, nil
}

// AttachedName is the VIP service a TailscaleServices attached to through
// discovery when its spec names none (recorded in its status by the
// services controller); "" otherwise.
func AttachedName(ts *gatewayv1alpha1.TailscaleServices) string {
	sd, vs := ts.Spec.ServiceDiscovery, ts.Status.VIPServiceStatus
	if sd == nil || !sd.DiscoverVIPServices || vs == nil || (ts.Spec.VIPService != nil && ts.Spec.VIPService.Name != "") {
		return ""
	}
	return vs.ServiceName
}

// Service is the planner's input for one TailscaleServices, built the same
// way for every controller: eps (its selected pools, as SelectedPools
// returned them or auto-provisioning extended them) with their machines
// and resolved backends, the VIP service it attached to through discovery
// (AttachedName; the services controller may choose again), and the CA
// bundles its external services name, read through bundles (Secrets other
// people own, whose data the cache does not keep: secrets.Reader). Both
// controllers read them: the proxy-config controller renders their
// certificates, the services controller reports the bundles that give
// none, and both hold the same external services out.
func Service(ctx context.Context, r client.Reader, ts *gatewayv1alpha1.TailscaleServices,
	eps []gatewayv1alpha1.TailscaleEndpoints, bundles client.Reader,
) (planner.Service, error) {
	pools, err := Pools(ctx, r, eps)
	if err != nil {
		return planner.Service{}, err
	}
	svc := planner.Service{Object: ts, Name: AttachedName(ts), Pools: pools}
	svc.Withhold = planner.Unconfirmed(ts, svc.VIPName())
	if svc.CABundles, err = CABundles(ctx, bundles, ts); err != nil {
		return planner.Service{}, err
	}
	return svc, nil
}

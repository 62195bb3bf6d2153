package poolconfig

import (
	"context"
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/observe"
	"github.com/tailscale-gateway/tailscale-gateway/internal/planner"
	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
)

// applySlices makes the pool's EndpointSlices of in-cluster Services what
// the planner's ports and the pool's pods say: created, updated only when
// they differ, and deleted when the pool no longer serves that service.
func (r *Reconciler) applySlices(ctx context.Context, ep *gatewayv1alpha1.TailscaleEndpoints, hosted []planner.Service, ports map[string][]planner.ClusterPort) error {
	if err := r.keepOwnServicesOnly(ctx, hosted, ports); err != nil {
		return err
	}
	pods := &corev1.PodList{}
	if err := r.Client.List(ctx, pods, client.InNamespace(ep.Namespace),
		client.MatchingLabels{pool.LabelPool: ep.Name, pool.LabelManagedBy: pool.ManagedBy}); err != nil {
		return err
	}
	sortPods(pods.Items)
	serving, err := r.serving(ctx, ep.Namespace, pods.Items)
	if err != nil {
		return err
	}
	have := &discoveryv1.EndpointSliceList{}
	if err := r.Client.List(ctx, have, client.InNamespace(ep.Namespace),
		client.MatchingLabels{pool.LabelPool: ep.Name, discoveryv1.LabelManagedBy: SliceManager}); err != nil {
		return err
	}
	existing := map[string]*discoveryv1.EndpointSlice{}
	for i := range have.Items {
		existing[have.Items[i].Name] = &have.Items[i]
	}
	for _, ts := range slices.Sorted(maps.Keys(ports)) {
		for _, want := range ClusterEndpointSlices(ep, ts, ports[ts], pods.Items, serving) {
			if err := r.applySlice(ctx, ep, want, existing[want.Name]); err != nil {
				return err
			}
			delete(existing, want.Name)
		}
	}
	for _, stale := range existing {
		if err := client.IgnoreNotFound(r.Client.Delete(ctx, stale)); err != nil {
			return err
		}
	}
	return nil
}

// serving reads which services each pod's proxy serves from its report.
func (r *Reconciler) serving(ctx context.Context, namespace string, pods []corev1.Pod) (Serving, error) {
	out := Serving{}
	for i := range pods {
		st, ok, err := observe.Report(ctx, r.Client, namespace, pods[i].Name)
		if err != nil {
			return nil, err
		}
		if ok {
			out[pods[i].Name] = slices.Sorted(maps.Keys(st.Services))
		}
	}
	return out, nil
}

func (r *Reconciler) applySlice(ctx context.Context, ep *gatewayv1alpha1.TailscaleEndpoints, want, have *discoveryv1.EndpointSlice) error {
	if err := controllerutil.SetControllerReference(ep, want, r.Scheme); err != nil {
		return fmt.Errorf("owning EndpointSlice %s: %w", want.Name, err)
	}
	if have == nil {
		return r.Client.Create(ctx, want)
	}
	if sameSlice(have, want) {
		return nil
	}
	have.Labels, have.AddressType, have.Endpoints, have.Ports = want.Labels, want.AddressType, want.Endpoints, want.Ports
	have.OwnerReferences = want.OwnerReferences
	return r.Client.Update(ctx, have)
}

func sameSlice(have, want *discoveryv1.EndpointSlice) bool {
	return equality.Semantic.DeepEqual(have.Labels, want.Labels) &&
		have.AddressType == want.AddressType &&
		equality.Semantic.DeepEqual(have.Endpoints, want.Endpoints) &&
		equality.Semantic.DeepEqual(have.Ports, want.Ports) &&
		equality.Semantic.DeepEqual(have.OwnerReferences, want.OwnerReferences)
}

// keepOwnServicesOnly drops the ports of TailscaleServices whose in-cluster
// Service is missing or not theirs: a slice labelled with the name of
// somebody else's Service would add the pool's pods to its endpoints.
func (r *Reconciler) keepOwnServicesOnly(ctx context.Context, hosted []planner.Service, ports map[string][]planner.ClusterPort) error {
	for _, s := range hosted {
		svc := &corev1.Service{}
		err := r.Client.Get(ctx, client.ObjectKey{Namespace: s.Object.Namespace, Name: planner.InClusterServiceName(s.Object.Name)}, svc)
		if client.IgnoreNotFound(err) != nil {
			return err
		}
		if err != nil || !metav1.IsControlledBy(svc, s.Object) {
			delete(ports, s.Object.Name)
		}
	}
	return nil
}

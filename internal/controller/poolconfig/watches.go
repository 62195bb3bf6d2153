package poolconfig

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/backend"
	"github.com/tailscale-gateway/tailscale-gateway/internal/controller/requeue"
	"github.com/tailscale-gateway/tailscale-gateway/internal/observe"
	"github.com/tailscale-gateway/tailscale-gateway/internal/planner"
	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
)

type queue = workqueue.TypedRateLimitingInterface[reconcile.Request]

// SetupWithManager watches what a pool's configuration is made of: the pool,
// every pool sharing a VIP service with it (their machines are its
// backends), the TailscaleServices, and the backend Services and
// EndpointSlices; and the pool's pods, which its EndpointSlices list.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	c := mgr.GetClient()
	return ctrl.NewControllerManagedBy(mgr).
		For(&gatewayv1alpha1.TailscaleEndpoints{}).
		Owns(&corev1.ConfigMap{}).
		Watches(&gatewayv1alpha1.TailscaleEndpoints{}, observe.PoolEvents(c, r.enqueuePoolsOf)).
		Watches(&gatewayv1alpha1.TailscaleServices{}, r.serviceEvents()).
		Watches(&corev1.Service{}, handler.EnqueueRequestsFromMapFunc(r.poolsForwardingTo)).
		Watches(&discoveryv1.EndpointSlice{}, handler.EnqueueRequestsFromMapFunc(r.poolsOfSlice)).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.poolsOfSecret)).
		Watches(&corev1.Pod{}, handler.EnqueueRequestsFromMapFunc(poolOfPod)).
		Named("poolconfig").
		Complete(requeue.OnConflict(r))
}

// enqueuePoolsOf enqueues every pool a TailscaleServices selects.
func (r *Reconciler) enqueuePoolsOf(ts gatewayv1alpha1.TailscaleServices, q queue) {
	eps, err := observe.SelectedPools(context.Background(), r.Client, &ts)
	if err != nil {
		return
	}
	for _, ep := range eps {
		q.Add(reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&ep)})
	}
}

// serviceEvents enqueue the pools selected before and after a change.
func (r *Reconciler) serviceEvents() handler.EventHandler {
	each := func(obj client.Object, q queue) {
		if ts, ok := obj.(*gatewayv1alpha1.TailscaleServices); ok {
			r.enqueuePoolsOf(*ts, q)
		}
	}
	return handler.Funcs{
		CreateFunc: func(_ context.Context, e event.CreateEvent, q queue) { each(e.Object, q) },
		UpdateFunc: func(_ context.Context, e event.UpdateEvent, q queue) { each(e.ObjectOld, q); each(e.ObjectNew, q) },
		DeleteFunc: func(_ context.Context, e event.DeleteEvent, q queue) { each(e.Object, q) },
	}
}

// poolsForwardingTo maps a Service to the pools whose backend it is, and
// an in-cluster Service of a TailscaleServices to the pools it selects
// (their EndpointSlices wait for it).
func (r *Reconciler) poolsForwardingTo(ctx context.Context, obj client.Object) []reconcile.Request {
	out := r.poolsWithBackend(ctx, obj.GetNamespace(), obj.GetName())
	name := obj.GetLabels()[planner.LabelTailscaleServices]
	if name == "" {
		return out
	}
	ts := &gatewayv1alpha1.TailscaleServices{}
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: obj.GetNamespace(), Name: name}, ts); err != nil {
		return out
	}
	eps, err := observe.SelectedPools(ctx, r.Client, ts)
	if err != nil {
		return out
	}
	for _, ep := range eps {
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&ep)})
	}
	return out
}

func (r *Reconciler) poolsOfSlice(ctx context.Context, obj client.Object) []reconcile.Request {
	if labels := obj.GetLabels(); labels[discoveryv1.LabelManagedBy] == SliceManager {
		// One of ours, changed or deleted by someone else: put it back.
		return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: obj.GetNamespace(), Name: labels[pool.LabelPool]}}}
	}
	name := obj.GetLabels()[discoveryv1.LabelServiceName]
	if name == "" {
		return nil
	}
	return r.poolsWithBackend(ctx, obj.GetNamespace(), name)
}

func (r *Reconciler) poolsWithBackend(ctx context.Context, namespace, service string) []reconcile.Request {
	var list gatewayv1alpha1.TailscaleEndpointsList
	if err := r.Client.List(ctx, &list, client.InNamespace(namespace)); err != nil {
		return nil
	}
	var reqs []reconcile.Request
	for _, ep := range list.Items {
		if backend.ServiceName(&ep) == service {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&ep)})
		}
	}
	return reqs
}

// poolsOfSecret maps a Secret to the pool whose machine reports in it (a
// state Secret: the report says which ports the pod listens on, so its
// EndpointSlices follow it) and to the pools trusting it as a CA bundle.
func (r *Reconciler) poolsOfSecret(ctx context.Context, obj client.Object) []reconcile.Request {
	return append(poolOfPod(ctx, obj), r.poolsTrustingBundle(ctx, obj)...)
}

// poolsTrustingBundle maps a Secret to the pools of the TailscaleServices
// whose external services take their CA bundle from it.
func (r *Reconciler) poolsTrustingBundle(ctx context.Context, obj client.Object) []reconcile.Request {
	list, err := observe.ServicesTrusting(ctx, r.Client, obj.GetNamespace(), obj.GetName())
	if err != nil {
		return nil
	}
	var reqs []reconcile.Request
	for _, ts := range list {
		eps, err := observe.SelectedPools(ctx, r.Client, &ts)
		if err != nil {
			continue
		}
		for _, ep := range eps {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&ep)})
		}
	}
	return reqs
}

// poolOfPod maps a proxy pod, or another object of a pool carrying its
// labels (its state Secret), to its pool.
func poolOfPod(_ context.Context, obj client.Object) []reconcile.Request {
	labels := obj.GetLabels()
	name := labels[pool.LabelPool]
	if name == "" || labels[pool.LabelManagedBy] != pool.ManagedBy {
		return nil
	}
	return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: obj.GetNamespace(), Name: name}}}
}

package services

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/controller/requeue"
	"github.com/tailscale-gateway/tailscale-gateway/internal/observe"
	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
)

// SetupWithManager watches TailscaleServices and the pools they select,
// what the tailnets' access rules judge them by (the TailscaleTailnets'
// specs and the Namespaces' labels), and the Secrets their external
// services' caBundles name (ExternalServicesReady). The selection index
// (observe.IndexAnchors on selection.IndexField) must be registered with
// the manager first.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&gatewayv1alpha1.TailscaleServices{}, builder.WithPredicates(specOrDeletion)).
		Watches(&gatewayv1alpha1.TailscaleEndpoints{}, observe.PoolEvents(mgr.GetClient(), enqueueServices)).
		Watches(&gatewayv1alpha1.TailscaleTailnet{}, handler.EnqueueRequestsFromMapFunc(r.allServices),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(r.servicesInNamespace),
			builder.OnlyMetadata, builder.WithPredicates(predicate.LabelChangedPredicate{})).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.servicesTrusting),
			builder.WithPredicates(foreignSecret)).
		Owns(&corev1.Service{}).
		Named("tailscaleservices").
		Complete(requeue.OnConflict(r))
}

// specOrDeletion ignores the controller's own status writes.
var specOrDeletion = predicate.Or(predicate.GenerationChangedPredicate{}, predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool { return e.ObjectNew.GetDeletionTimestamp() != nil },
})

func enqueueServices(ts gatewayv1alpha1.TailscaleServices, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	q.Add(reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&ts)})
}

// allServices maps a TailscaleTailnet whose spec changed to every
// TailscaleServices: which tailnet a service uses follows from the pools
// it selects, and such changes are rare.
func (r *Reconciler) allServices(ctx context.Context, o client.Object) []reconcile.Request {
	return r.servicesIn(ctx, o, "")
}

// servicesInNamespace maps a Namespace whose labels changed to its
// TailscaleServices.
func (r *Reconciler) servicesInNamespace(ctx context.Context, o client.Object) []reconcile.Request {
	return r.servicesIn(ctx, o, o.GetName())
}

func (r *Reconciler) servicesIn(ctx context.Context, cause client.Object, namespace string) []reconcile.Request {
	list := &gatewayv1alpha1.TailscaleServicesList{}
	if err := r.Client.List(ctx, list, client.InNamespace(namespace)); err != nil {
		log.FromContext(ctx).Error(err, "listing TailscaleServices to re-check against the tailnet's access rules", "cause", cause.GetName())
		return nil
	}
	out := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
	return out
}

// foreignSecret ignores the Secrets the operator makes (auth keys, the
// machines' state, rewritten with every report): no caBundle names them.
var foreignSecret = predicate.NewPredicateFuncs(func(o client.Object) bool {
	return o.GetLabels()[pool.LabelManagedBy] != pool.ManagedBy
})

// servicesTrusting maps a Secret to the TailscaleServices whose external
// services take their CA bundle from it.
func (r *Reconciler) servicesTrusting(ctx context.Context, o client.Object) []reconcile.Request {
	list, err := observe.ServicesTrusting(ctx, r.Client, o.GetNamespace(), o.GetName())
	if err != nil {
		log.FromContext(ctx).Error(err, "listing TailscaleServices to re-check their CA bundles", "secret", o.GetName())
		return nil
	}
	out := make([]reconcile.Request, 0, len(list))
	for i := range list {
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list[i])})
	}
	return out
}

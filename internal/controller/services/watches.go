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
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/controller/requeue"
	"github.com/tailscale-gateway/tailscale-gateway/internal/observe"
)

// SetupWithManager watches TailscaleServices and the pools they select.
// The selection index (observe.IndexAnchors on selection.IndexField) must
// be registered with the manager first.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&gatewayv1alpha1.TailscaleServices{}, builder.WithPredicates(specOrDeletion)).
		Watches(&gatewayv1alpha1.TailscaleEndpoints{}, PoolEvents(mgr.GetClient(), enqueueServices)).
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

// PoolEvents maps a TailscaleEndpoints event to the TailscaleServices that
// select it before and after the change (a relabelled pool leaves some and
// joins others), found through the selection index, and hands each to do.
func PoolEvents(r client.Reader, do func(gatewayv1alpha1.TailscaleServices, workqueue.TypedRateLimitingInterface[reconcile.Request])) handler.EventHandler {
	each := func(ctx context.Context, obj client.Object, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
		list, err := observe.ServicesSelecting(ctx, r, obj.GetNamespace(), obj.GetLabels())
		if err != nil {
			return // the periodic resync catches up
		}
		for _, ts := range list {
			do(ts, q)
		}
	}
	return handler.Funcs{
		CreateFunc: func(ctx context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			each(ctx, e.Object, q)
		},
		UpdateFunc: func(ctx context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			each(ctx, e.ObjectOld, q)
			each(ctx, e.ObjectNew, q)
		},
		DeleteFunc: func(ctx context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			each(ctx, e.Object, q)
		},
	}
}

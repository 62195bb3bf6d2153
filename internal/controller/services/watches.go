package services

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
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
		Watches(&gatewayv1alpha1.TailscaleEndpoints{}, observe.PoolEvents(mgr.GetClient(), enqueueServices)).
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

package observe

import (
	"context"

	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
)

// PoolEvents maps a TailscaleEndpoints event to the TailscaleServices that
// select it before and after the change (a relabelled pool leaves some and
// joins others), found through the selection index, and hands each to do.
func PoolEvents(r client.Reader, do func(gatewayv1alpha1.TailscaleServices, workqueue.TypedRateLimitingInterface[reconcile.Request])) handler.EventHandler {
	each := func(ctx context.Context, obj client.Object, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
		list, err := ServicesSelecting(ctx, r, obj.GetNamespace(), obj.GetLabels())
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

package endpoints

import (
	"context"
	"errors"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/controller/requeue"
	"github.com/tailscale-gateway/tailscale-gateway/internal/observe"
)

// ControllerName names the controller in logs, metrics and Events.
const ControllerName = "tailscaleendpoints"

// SetupWithManager registers the controller: the pool, everything it
// owns, the Services and EndpointSlices its backend resolves from,
// TailscaleTailnets (a pool waiting for its tailnet retries when it
// appears, or when its access rules change), and the labels of Namespaces
// (which the tailnet's access.namespaceSelector judges).
// The manager's indexes (observe.RegisterIndexes) must be registered first.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Tailnets == nil || r.ProxyImage == "" {
		return errors.New("endpoints controller: Tailnets and ProxyImage are required")
	}
	r.setDefaults(mgr)
	return ctrl.NewControllerManagedBy(mgr).
		Named(ControllerName).
		For(&gatewayv1alpha1.TailscaleEndpoints{}).
		Owns(&appsv1.StatefulSet{}).
		Owns(&corev1.Secret{}).
		Owns(&corev1.ConfigMap{}). // its version, against the machines' (ConfigApplied)
		Owns(&corev1.ServiceAccount{}).
		Owns(&rbacv1.Role{}).
		Owns(&rbacv1.RoleBinding{}).
		Owns(&corev1.Service{}).
		Owns(&policyv1.PodDisruptionBudget{}).
		Watches(&rbacv1.ClusterRoleBinding{}, handler.EnqueueRequestsFromMapFunc(r.poolOfBinding)).
		Watches(&corev1.Service{}, handler.EnqueueRequestsFromMapFunc(r.poolsUsingService)).
		Watches(&discoveryv1.EndpointSlice{}, handler.EnqueueRequestsFromMapFunc(r.poolsUsingSlice)).
		Watches(&gatewayv1alpha1.TailscaleTailnet{}, handler.EnqueueRequestsFromMapFunc(r.poolsOnTailnet)).
		Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(r.poolsInNamespace),
			builder.OnlyMetadata, builder.WithPredicates(predicate.LabelChangedPredicate{})).
		Complete(requeue.OnConflict(r))
}

func (r *Reconciler) setDefaults(mgr ctrl.Manager) {
	if r.Client == nil {
		r.Client = mgr.GetClient()
	}
	if r.Scheme == nil {
		r.Scheme = mgr.GetScheme()
	}
	if r.APIReader == nil {
		r.APIReader = mgr.GetAPIReader()
	}
	if r.Recorder == nil {
		r.Recorder = mgr.GetEventRecorder(ControllerName)
	}
}

func (r *Reconciler) poolsUsingService(ctx context.Context, o client.Object) []reconcile.Request {
	return r.poolsUsing(ctx, o.GetNamespace(), o.GetName())
}

func (r *Reconciler) poolsUsingSlice(ctx context.Context, o client.Object) []reconcile.Request {
	svc := o.GetLabels()[discoveryv1.LabelServiceName]
	if svc == "" {
		return nil
	}
	return r.poolsUsing(ctx, o.GetNamespace(), svc)
}

func (r *Reconciler) poolsUsing(ctx context.Context, namespace, service string) []reconcile.Request {
	list := &gatewayv1alpha1.TailscaleEndpointsList{}
	if err := r.Client.List(ctx, list, client.InNamespace(namespace), client.MatchingFields{observe.BackendServiceField: service}); err != nil {
		log.FromContext(ctx).Error(err, "listing pools that use a Service", "service", types.NamespacedName{Namespace: namespace, Name: service})
		return nil
	}
	return requests(list.Items)
}

// poolsOnTailnet maps a tailnet to the pools that name it, and to those
// that name none (the default tailnet may be this one).
func (r *Reconciler) poolsOnTailnet(ctx context.Context, o client.Object) []reconcile.Request {
	list := &gatewayv1alpha1.TailscaleEndpointsList{}
	if err := r.Client.List(ctx, list); err != nil {
		log.FromContext(ctx).Error(err, "listing pools of a tailnet", "tailnet", o.GetName())
		return nil
	}
	var pools []gatewayv1alpha1.TailscaleEndpoints
	for _, ep := range list.Items {
		if ep.Spec.Tailnet == o.GetName() || ep.Spec.Tailnet == "" {
			pools = append(pools, ep)
		}
	}
	return requests(pools)
}

// poolsInNamespace maps a Namespace whose labels changed to its pools.
func (r *Reconciler) poolsInNamespace(ctx context.Context, o client.Object) []reconcile.Request {
	list := &gatewayv1alpha1.TailscaleEndpointsList{}
	if err := r.Client.List(ctx, list, client.InNamespace(o.GetName())); err != nil {
		log.FromContext(ctx).Error(err, "listing the pools of a namespace", "namespace", o.GetName())
		return nil
	}
	return requests(list.Items)
}

func requests(pools []gatewayv1alpha1.TailscaleEndpoints) []reconcile.Request {
	out := make([]reconcile.Request, 0, len(pools))
	for _, ep := range pools {
		out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: ep.Namespace, Name: ep.Name}})
	}
	return out
}

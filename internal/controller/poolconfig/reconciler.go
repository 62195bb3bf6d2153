// Package poolconfig is the proxy-config controller: for each pool it
// renders, through the planner, the ConfigMap its proxies read (the pool's
// own ports and every VIP service that selects the pool), and the
// EndpointSlices that put the pool's pods behind the in-cluster Services of
// those VIP services, on the pod ports that configuration opens. It is the
// only writer of both.
package poolconfig

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/yaml"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/observe"
	"github.com/tailscale-gateway/tailscale-gateway/internal/planner"
	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tailnet"
)

// Reconciler renders pools' proxy configurations.
type Reconciler struct {
	Client client.Client
	// Secrets reads the CA bundle Secrets (other people's, whose data the
	// operator's cache does not keep); nil means Client.
	Secrets client.Reader
	Scheme  *runtime.Scheme
	// DefaultTailnet is the tailnet of pools that name none.
	DefaultTailnet string
}

// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch;create;update;patch
// +kubebuilder:rbac:groups=gateway.tailscale.com,resources=tailscaletailnets,verbs=get;list;watch
// +kubebuilder:rbac:groups=gateway.tailscale.com,resources=tailscaleendpoints;tailscaleservices,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets;pods,verbs=get;list;watch
// +kubebuilder:rbac:groups=discovery.k8s.io,resources=endpointslices,verbs=get;list;watch;create;update;delete

// Reconcile renders one pool's ConfigMap.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	ep := &gatewayv1alpha1.TailscaleEndpoints{}
	if err := r.Client.Get(ctx, req.NamespacedName, ep); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if ep.DeletionTimestamp != nil {
		return reconcile.Result{}, nil // the ConfigMap goes with its owner
	}
	controlURL, err := r.controlURL(ctx, ep)
	if err != nil || controlURL == "" {
		return reconcile.Result{}, err // the endpoints controller reports a missing tailnet
	}
	self, err := observe.Pool(ctx, r.Client, ep)
	if err != nil {
		return reconcile.Result{}, err
	}
	services, err := r.hostedServices(ctx, ep)
	if err != nil {
		return reconcile.Result{}, err
	}
	cfg, ports, err := planner.PoolConfig(self, controlURL, services)
	if err != nil {
		return reconcile.Result{}, err
	}
	rendered, err := yaml.Marshal(cfg)
	if err != nil {
		return reconcile.Result{}, err
	}
	if err := r.apply(ctx, ep, string(rendered)); err != nil {
		return reconcile.Result{}, err
	}
	return reconcile.Result{}, r.applySlices(ctx, ep, services, ports)
}

// hostedServices are the TailscaleServices that select the pool, each with
// every pool it selects.
func (r *Reconciler) hostedServices(ctx context.Context, ep *gatewayv1alpha1.TailscaleEndpoints) ([]planner.Service, error) {
	list, err := observe.ServicesSelecting(ctx, r.Client, ep.Namespace, ep.Labels)
	if err != nil {
		return nil, err
	}
	var out []planner.Service
	for i := range list {
		ts := &list[i]
		if ts.DeletionTimestamp != nil {
			continue // its proxies stop advertising it
		}
		eps, err := observe.SelectedPools(ctx, r.Client, ts)
		if err != nil {
			return nil, err
		}
		svc, err := observe.Service(ctx, r.Client, ts, eps, r.secrets())
		if err != nil {
			return nil, err
		}
		out = append(out, svc)
	}
	return out, nil
}

func (r *Reconciler) controlURL(ctx context.Context, ep *gatewayv1alpha1.TailscaleEndpoints) (string, error) {
	name := tailnet.Named(ep.Spec.Tailnet, r.DefaultTailnet)
	tn := &gatewayv1alpha1.TailscaleTailnet{}
	if err := r.Client.Get(ctx, client.ObjectKey{Name: name}, tn); err != nil {
		return "", client.IgnoreNotFound(err)
	}
	return tn.Spec.CoordinationServerURL, nil
}

// apply creates or updates the ConfigMap; it writes only when the
// rendered configuration differs, so steady state makes no writes.
func (r *Reconciler) apply(ctx context.Context, ep *gatewayv1alpha1.TailscaleEndpoints, rendered string) error {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: pool.ConfigMapName(ep.Name), Namespace: ep.Namespace}}
	err := r.Client.Get(ctx, client.ObjectKeyFromObject(cm), cm)
	if client.IgnoreNotFound(err) != nil {
		return err
	}
	exists := err == nil
	if exists && cm.Data[pool.ConfigKey] == rendered && metav1.IsControlledBy(cm, ep) {
		return nil
	}
	cm.Labels = map[string]string{pool.LabelPool: ep.Name, pool.LabelComponent: "proxy-config", pool.LabelManagedBy: pool.ManagedBy}
	cm.Data = map[string]string{pool.ConfigKey: rendered}
	if err := controllerutil.SetControllerReference(ep, cm, r.Scheme); err != nil {
		return fmt.Errorf("owning ConfigMap %s: %w", cm.Name, err)
	}
	if exists {
		return r.Client.Update(ctx, cm)
	}
	return r.Client.Create(ctx, cm)
}

func (r *Reconciler) secrets() client.Reader {
	if r.Secrets != nil {
		return r.Secrets
	}
	return r.Client
}

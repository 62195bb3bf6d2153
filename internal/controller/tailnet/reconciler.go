// Package tailnet is the TailscaleTailnet controller: it checks that the
// tailnet's API accepts its OAuth client, records the MagicDNS domain, and
// says precisely why not in the Ready condition when it cannot.
package tailnet

import (
	"context"
	"errors"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/controller/deadline"
	"github.com/tailscale-gateway/tailscale-gateway/internal/controller/requeue"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tailnet"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tsapi"
)

// How often a tailnet is checked again.
const (
	// RecheckReady is the period of checks of a working tailnet.
	RecheckReady = 5 * time.Minute
	// RecheckDomain is the period while the MagicDNS domain is not known yet
	// (it is learned from the first device's name).
	RecheckDomain = 15 * time.Second
)

// Reconciler checks TailscaleTailnets.
type Reconciler struct {
	Client   client.Client
	Recorder events.EventRecorder
	Tailnets *tailnet.Clients
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// +kubebuilder:rbac:groups=gateway.tailscale.com,resources=tailscaletailnets,verbs=get;list;watch
// +kubebuilder:rbac:groups=gateway.tailscale.com,resources=tailscaletailnets/status,verbs=get;update;patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile checks one tailnet. Problems with its configuration are
// reported in status and wait for a change of the tailnet or its Secret;
// an unreachable API is retried with the controller's backoff.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	tn := &gatewayv1alpha1.TailscaleTailnet{}
	if err := r.Client.Get(ctx, req.NamespacedName, tn); err != nil {
		if client.IgnoreNotFound(err) == nil {
			r.Tailnets.Cache.Forget(req.Name)
		}
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	// A blackholed API must leave time to say so in status.
	tailnetCtx, cancel := deadline.ForTailnet(ctx)
	c := r.check(tailnetCtx, tn)
	cancel()
	if err := r.writeStatus(ctx, tn, c); err != nil {
		return reconcile.Result{}, err
	}
	switch {
	case c.err != nil && isUnreachable(c.err):
		return reconcile.Result{}, c.err // retried with backoff
	case c.err != nil:
		return reconcile.Result{}, nil // waits for the tailnet or its Secret to change
	case c.domain == "":
		return reconcile.Result{RequeueAfter: RecheckDomain}, nil
	}
	return reconcile.Result{RequeueAfter: RecheckReady}, nil
}

// check asks the API something cheap that needs valid credentials.
func (r *Reconciler) check(ctx context.Context, tn *gatewayv1alpha1.TailscaleTailnet) check {
	api, _, err := r.Tailnets.Resolve(ctx, tn.Name)
	if err != nil {
		return check{err: err}
	}
	domain, err := api.MagicDNSDomain(ctx)
	if errors.Is(err, tsapi.ErrDomainUnknown) {
		return check{domain: tn.Status.MagicDNSDomain}
	}
	return check{err: err, domain: domain}
}

func (r *Reconciler) writeStatus(ctx context.Context, tn *gatewayv1alpha1.TailscaleTailnet, c check) error {
	want := tn.Status.DeepCopy()
	want.ObservedGeneration = tn.Generation
	if c.err == nil {
		want.MagicDNSDomain = c.domain
	}
	cond := readyCondition(c, tn.Generation)
	changed := meta.SetStatusCondition(&want.Conditions, cond)
	if changed && cond.Status == metav1.ConditionFalse {
		r.Recorder.Eventf(tn, nil, corev1.EventTypeWarning, cond.Reason, "Check", "%s", cond.Message)
	}
	if equality.Semantic.DeepEqual(*want, tn.Status) && !r.lastCheckedStale(tn) {
		return nil
	}
	now := metav1.NewTime(r.now())
	want.LastChecked = &now
	tn.Status = *want
	return r.Client.Status().Update(ctx, tn)
}

// lastCheckedStale keeps lastChecked honest without writing on every
// re-check: it is refreshed when it is older than a ready re-check period.
func (r *Reconciler) lastCheckedStale(tn *gatewayv1alpha1.TailscaleTailnet) bool {
	return tn.Status.LastChecked == nil || r.now().Sub(tn.Status.LastChecked.Time) >= RecheckReady
}

func (r *Reconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// SetupWithManager watches TailscaleTailnets and the Secrets they name.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&gatewayv1alpha1.TailscaleTailnet{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.tailnetsOfSecret)).
		Named("tailscaletailnet").
		Complete(requeue.OnConflict(r))
}

// tailnetsOfSecret finds the tailnets whose OAuth Secret changed.
func (r *Reconciler) tailnetsOfSecret(ctx context.Context, obj client.Object) []reconcile.Request {
	var list gatewayv1alpha1.TailscaleTailnetList
	if err := r.Client.List(ctx, &list); err != nil {
		return nil
	}
	var reqs []reconcile.Request
	for _, tn := range list.Items {
		ns := tn.Spec.OAuthSecretRef.Namespace
		if ns == "" {
			ns = r.Tailnets.Namespace
		}
		if tn.Spec.OAuthSecretRef.Name == obj.GetName() && ns == obj.GetNamespace() {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&tn)})
		}
	}
	return reqs
}

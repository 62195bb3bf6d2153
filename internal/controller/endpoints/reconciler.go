// Package endpoints is the endpoints controller: it keeps the Kubernetes
// side of each TailscaleEndpoints (a pool of tsgw-proxy machines) as its
// spec asks — StatefulSet, RBAC (and a ClusterRoleBinding that lets the
// proxies authorise scrapers of their metrics), headless Service,
// PodDisruptionBudget and per-replica Secrets with auth keys minted
// once — and reports the machines in its status. Builders (*_specs.go)
// are pure; this file and its siblings only read, call them, and apply.
package endpoints

import (
	"context"
	"errors"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/cleanup"
	"github.com/tailscale-gateway/tailscale-gateway/internal/controller/deadline"
	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tailnet"
)

// Finalizer holds a pool until its devices and auth keys are gone from the tailnet.
const Finalizer = "gateway.tailscale.com/endpoints-cleanup"

// IdentityFinalizer holds a machine's auth key Secret, which is what proves
// its device and key the machine's (identity.go), until they are gone from
// the tailnet. Deleting a namespace deletes its Secrets while the pool's
// own finalizer still waits to clean up.
const IdentityFinalizer = "gateway.tailscale.com/machine-identity"

// defaultRetryDelay is how long an unusable tailnet waits before the next
// try; the TailscaleTailnet watch usually retries sooner.
const defaultRetryDelay = 30 * time.Second

// Reconciler reconciles TailscaleEndpoints.
type Reconciler struct {
	Client   client.Client
	Scheme   *runtime.Scheme
	Recorder events.EventRecorder
	Tailnets tailnet.Resolver
	// OperatorID identifies this operator among those sharing a tailnet:
	// it makes the machines' hostnames unique (pool.MachineHostname) and
	// is named in their auth keys' descriptions.
	OperatorID string
	// APIReader reads around the cache before an auth key is minted, so a
	// cache that lags the reconciler's own writes never mints a second
	// key. Nil means the manager's API reader.
	APIReader client.Reader
	// ProxyImage is the tsgw-proxy image the pools run.
	ProxyImage string
	// ProxyResources of each proxy container; zero means DefaultProxyResources.
	ProxyResources corev1.ResourceRequirements
	// RetryDelay after a tailnet that cannot be used; zero means 30s.
	RetryDelay time.Duration
	// CleanupBound is how long a deleted pool whose tailnet cleanup keeps
	// failing is held; zero means cleanup.DefaultBound.
	CleanupBound time.Duration
	// Now is the clock auth key expiry is judged by; nil means time.Now.
	Now func() time.Time
}

// +kubebuilder:rbac:groups=gateway.tailscale.com,resources=tailscaleendpoints,verbs=get;list;watch;update
// +kubebuilder:rbac:groups=gateway.tailscale.com,resources=tailscaleendpoints/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=gateway.tailscale.com,resources=tailscaleendpoints/finalizers,verbs=update
// +kubebuilder:rbac:groups=gateway.tailscale.com,resources=tailscaletailnets,verbs=get;list;watch
// +kubebuilder:rbac:groups=apps,resources=statefulsets,verbs=get;list;watch;create;update
// +kubebuilder:rbac:groups="",resources=services;serviceaccounts,verbs=get;list;watch;create;update
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=roles;rolebindings,verbs=get;list;watch;create;update
//
// Each pool's ClusterRoleBinding of the proxies' auth delegator role
// (pool.ProxyAuthClusterRole), deleted by the pool's finalizer. RBAC
// escalation prevention lets the operator bind that role through bind on
// it (and only it), whether or not it holds the role's rights itself (it
// does today, for its own metrics).
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=clusterrolebindings,verbs=get;list;watch;create;update;delete
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=clusterroles,verbs=bind,resourceNames=tsgw-proxy-auth-delegator
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=get;list;watch;create;update;delete
// +kubebuilder:rbac:groups=discovery.k8s.io,resources=endpointslices,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=pods,verbs=get
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
//
// Secrets: the pool's own (create, update, delete) and the rights the
// Role grants the proxies (get, update, patch), which RBAC escalation
// prevention requires the operator to hold; likewise get, list and watch
// on ConfigMaps.
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch

// Reconcile brings one pool to its spec and reports it.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	ep := &gatewayv1alpha1.TailscaleEndpoints{}
	if err := r.Client.Get(ctx, req.NamespacedName, ep); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !ep.DeletionTimestamp.IsZero() {
		return r.finalize(ctx, ep)
	}
	// Before anything exists in the tailnet, so nothing can leak.
	if controllerutil.AddFinalizer(ep, Finalizer) {
		if err := r.Client.Update(ctx, ep); err != nil {
			return ctrl.Result{}, err
		}
	}
	return r.sync(ctx, ep)
}

func (r *Reconciler) sync(ctx context.Context, ep *gatewayv1alpha1.TailscaleEndpoints) (ctrl.Result, error) {
	replicas, err := r.poolReplicas(ctx, ep)
	if err != nil {
		return ctrl.Result{}, err
	}
	obs := observation{replicas: replicas}
	// The tailnet gets less than the whole reconcile: what follows must
	// still be able to write the status that says how it went.
	tailnetCtx, cancel := deadline.ForTailnet(ctx)
	defer cancel()
	api, info, tnErr := r.Tailnets.Resolve(tailnetCtx, ep.Spec.Tailnet)
	obs.tailnetErr = tnErr
	// Before anything is minted or created: see admission.
	admitted, refusal, err := r.admission(ctx, ep, info)
	if err != nil {
		return ctrl.Result{}, err
	}
	obs.refusal = refusal
	var scaleErr error
	var waiting bool
	var keyExpires time.Duration
	if tnErr == nil && admitted {
		// Keys before the StatefulSet, so new pods find theirs at start.
		inv := &inventory{api: api}
		keyExpires, obs.authKeyErr = r.ensureAuthKeys(tailnetCtx, ep, inv, replicas)
		obs.recordErr = r.recordDevices(tailnetCtx, inv, replicas)
		waiting, scaleErr = r.removeExtraReplicas(tailnetCtx, ep, api, replicas)
	}
	if admitted {
		obs.applyErr = r.ensureObjects(ctx, ep)
	}
	if obs.configVersion, err = r.configVersion(ctx, ep); err != nil {
		return ctrl.Result{}, err
	}
	problem, backendErr := r.resolveBackend(ctx, ep)
	obs.backend = problem
	statusErr := r.updateStatus(ctx, ep, obs)
	if err := errors.Join(retriable(obs.applyErr), retriable(obs.authKeyErr), obs.recordErr, scaleErr, backendErr, statusErr); err != nil {
		return ctrl.Result{}, err
	}
	switch {
	case tnErr != nil, obs.applyErr != nil:
		// An object in the way is not watched: look again later.
		return ctrl.Result{RequeueAfter: r.retryDelay()}, nil
	case waiting:
		return ctrl.Result{RequeueAfter: podGoneDelay}, nil
	case keyExpires > 0:
		return ctrl.Result{RequeueAfter: keyExpires}, nil
	}
	return ctrl.Result{}, nil
}

// configVersion is the resourceVersion of the pool's ConfigMap (written
// by the proxy-config controller), "" before it exists.
func (r *Reconciler) configVersion(ctx context.Context, ep *gatewayv1alpha1.TailscaleEndpoints) (string, error) {
	cm := &corev1.ConfigMap{}
	err := r.Client.Get(ctx, client.ObjectKey{Namespace: ep.Namespace, Name: pool.ConfigMapName(ep.Name)}, cm)
	if apierrors.IsNotFound(err) || (err == nil && !metav1.IsControlledBy(cm, ep)) {
		return "", nil
	}
	return cm.ResourceVersion, err
}

// retriable drops from err what a retry cannot fix (a *TakenError: the
// user must act, and the status says so), so that it is not retried with
// backoff and logged as a failure.
func retriable(err error) error {
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		var keep []error
		for _, e := range joined.Unwrap() {
			keep = append(keep, retriable(e))
		}
		return errors.Join(keep...)
	}
	if _, taken := errors.AsType[*TakenError](err); taken {
		return nil
	}
	return err
}

func (r *Reconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Reconciler) proxyOptions() ProxyOptions {
	return ProxyOptions{Image: r.ProxyImage, Resources: r.ProxyResources}
}

func (r *Reconciler) cleanupBound() time.Duration {
	return cleanup.BoundOr(r.CleanupBound)
}

func (r *Reconciler) retryDelay() time.Duration {
	if r.RetryDelay > 0 {
		return r.RetryDelay
	}
	return defaultRetryDelay
}

// updateStatus writes the status when it differs from what is stored, and
// announces a Ready condition that has just turned False.
func (r *Reconciler) updateStatus(ctx context.Context, ep *gatewayv1alpha1.TailscaleEndpoints, obs observation) error {
	want := desiredStatus(ep, obs)
	if equality.Semantic.DeepEqual(ep.Status, want) {
		return nil
	}
	r.announceReady(ep, want)
	ep.Status = want
	return r.Client.Status().Update(ctx, ep)
}

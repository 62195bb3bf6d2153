// Package services is the TailscaleServices controller: it selects pools,
// keeps the VIP service in the tailnet as the planner wants it (never
// overwriting one that is not ours), lets the pools' tags host it when
// autoApprove is set, and writes the status computed by the planner from
// the machines' reports.
package services

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/cleanup"
	"github.com/tailscale-gateway/tailscale-gateway/internal/controller/deadline"
	"github.com/tailscale-gateway/tailscale-gateway/internal/observe"
	"github.com/tailscale-gateway/tailscale-gateway/internal/planner"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tailnet"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tsapi"
)

// Finalizer keeps a TailscaleServices until its VIP service is released.
const Finalizer = "gateway.tailscale.com/vip-service"

// DefaultResync is how often status is recomputed from the machines'
// reports even when nothing in the cluster changed (counters and health
// move on their own).
const DefaultResync = 10 * time.Second

// Reconciler reconciles TailscaleServices.
type Reconciler struct {
	Client client.Client
	// Secrets reads the CA bundle Secrets of external services (other
	// people's, whose data the operator's cache does not keep); nil means
	// Client.
	Secrets    client.Reader
	Recorder   events.EventRecorder
	Tailnets   tailnet.Resolver
	OperatorID string
	// DefaultTailnet is used when no selected pool names one.
	DefaultTailnet string
	// Resync overrides DefaultResync.
	Resync time.Duration
	// CleanupBound is how long a deleted TailscaleServices whose VIP
	// service cannot be released is held; zero means cleanup.DefaultBound.
	CleanupBound time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	snapshotsMu sync.Mutex
	snapshots   map[string]*tsapi.Snapshot // by tailnet name
}

// +kubebuilder:rbac:groups=gateway.tailscale.com,resources=tailscaleservices,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=gateway.tailscale.com,resources=tailscaleservices/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=gateway.tailscale.com,resources=tailscaleservices/finalizers,verbs=update
// +kubebuilder:rbac:groups=gateway.tailscale.com,resources=tailscaleendpoints,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=services;secrets,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=services,verbs=create;update;delete
// +kubebuilder:rbac:groups=discovery.k8s.io,resources=endpointslices,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile brings one TailscaleServices to its desired state.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	ts := &gatewayv1alpha1.TailscaleServices{}
	if err := r.Client.Get(ctx, req.NamespacedName, ts); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if ts.DeletionTimestamp != nil {
		return r.finalize(ctx, ts)
	}
	if controllerutil.AddFinalizer(ts, Finalizer) {
		if err := r.Client.Update(ctx, ts); err != nil {
			return reconcile.Result{}, err
		}
	}
	eps, err := observe.SelectedPools(ctx, r.Client, ts)
	if err != nil {
		return reconcile.Result{}, err
	}
	eps, provisionProblem, err := r.provision(ctx, ts, eps)
	if err != nil {
		return reconcile.Result{}, err
	}
	svc, err := observe.Service(ctx, r.Client, ts, eps, r.secrets())
	if err != nil {
		return reconcile.Result{}, err
	}
	o := planner.Observed{Service: svc, Previous: ts.Status, Now: metav1.NewTime(r.now()), ProvisionProblem: provisionProblem}
	// An API failure is shown in status, then retried with backoff; the
	// API gets less than the whole reconcile, so the status can say so.
	tailnetCtx, cancel := deadline.ForTailnet(ctx)
	apiErr := r.ensureVIPService(tailnetCtx, &svc, eps, &o)
	cancel()
	if apiErr != nil {
		o.VIPProblem = &planner.Problem{Reason: gatewayv1alpha1.ReasonAPIError, Message: fmt.Sprintf("the Tailscale API failed; retrying: %v", apiErr)}
	}
	// A Service the API server refuses (say, its ClusterIP range is full)
	// is this step's condition; the VIP service and the status go on.
	o.ClusterServiceProblem, err = r.ensureClusterService(ctx, ts, svc)
	clusterErr := err
	if err != nil {
		o.ClusterServiceProblem = clusterServiceFailure(ts.Name, err)
	}
	if o.Reports, err = observe.Reports(ctx, r.Client, svc.Pools); err != nil {
		return reconcile.Result{}, err
	}
	if err := r.writeStatus(ctx, ts, o); err != nil {
		return reconcile.Result{}, err
	}
	if err := errors.Join(apiErr, clusterErr); err != nil {
		return reconcile.Result{}, err
	}
	return reconcile.Result{RequeueAfter: r.resync()}, nil
}

// writeStatus writes the planner's status when it differs, and reports
// failovers and failbacks as Events.
func (r *Reconciler) writeStatus(ctx context.Context, ts *gatewayv1alpha1.TailscaleServices, o planner.Observed) error {
	next := planner.Status(o)
	r.recordTierChange(ts, ts.Status.LoadBalancingStatus, next.LoadBalancingStatus)
	r.warnExternalServices(ts, next)
	if equality.Semantic.DeepEqual(next, ts.Status) {
		return nil
	}
	ts.Status = next
	return r.Client.Status().Update(ctx, ts)
}

func (r *Reconciler) recordTierChange(ts *gatewayv1alpha1.TailscaleServices, prev, next *gatewayv1alpha1.LoadBalancingStatus) {
	if prev == nil || next == nil || prev.FailoverStatus == nil || next.FailoverStatus == nil {
		return
	}
	from, to := prev.FailoverStatus.ActiveTier, next.FailoverStatus.ActiveTier
	if from == "" || to == "" || from == to {
		return
	}
	reason := "Failover"
	if planner.IsFailback(from, to) {
		reason = "Failback"
	}
	r.Recorder.Eventf(ts, nil, corev1.EventTypeNormal, reason, "Balance",
		"traffic moved from the %s tier to the %s tier (%s)", from, to, next.FailoverStatus.FailoverReason)
}

// warnExternalServices records a Warning when ExternalServicesReady turns
// False or says something else (another external service held out), once,
// not on every resync that finds the same problem.
func (r *Reconciler) warnExternalServices(ts *gatewayv1alpha1.TailscaleServices, next gatewayv1alpha1.TailscaleServicesStatus) {
	now := meta.FindStatusCondition(next.Conditions, gatewayv1alpha1.ConditionExternalServicesReady)
	if now == nil || now.Status != metav1.ConditionFalse {
		return
	}
	before := meta.FindStatusCondition(ts.Status.Conditions, gatewayv1alpha1.ConditionExternalServicesReady)
	if before != nil && before.Status == now.Status && before.Reason == now.Reason && before.Message == now.Message {
		return
	}
	r.Recorder.Eventf(ts, nil, corev1.EventTypeWarning, now.Reason, "Configure", "%s", now.Message)
}

func (r *Reconciler) secrets() client.Reader {
	if r.Secrets != nil {
		return r.Secrets
	}
	return r.Client
}

func (r *Reconciler) resync() time.Duration {
	if r.Resync > 0 {
		return r.Resync
	}
	return DefaultResync
}

// snapshot is the tailnet's shared view of its VIP services and policy,
// at most one resync old: at steady state, checking every TailscaleServices
// of a tailnet costs one list (and one policy read) per resync.
func (r *Reconciler) snapshot(tailnet string) *tsapi.Snapshot {
	r.snapshotsMu.Lock()
	defer r.snapshotsMu.Unlock()
	if r.snapshots == nil {
		r.snapshots = map[string]*tsapi.Snapshot{}
	}
	s := r.snapshots[tailnet]
	if s == nil {
		s = &tsapi.Snapshot{TTL: r.resync(), Now: r.now}
		r.snapshots[tailnet] = s
	}
	return s
}

func (r *Reconciler) cleanupBound() time.Duration {
	return cleanup.BoundOr(r.CleanupBound)
}

func (r *Reconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

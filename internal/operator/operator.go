// Package operator assembles the controllers into one controller-runtime
// manager. cmd/operator runs it in a cluster; the dev environment and the
// end-to-end tests run it in-process against their own API server.
package operator

import (
	"cmp"
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/tailscale-gateway/tailscale-gateway/internal/controller/endpoints"
	"github.com/tailscale-gateway/tailscale-gateway/internal/controller/poolconfig"
	servicesctrl "github.com/tailscale-gateway/tailscale-gateway/internal/controller/services"
	tailnetctrl "github.com/tailscale-gateway/tailscale-gateway/internal/controller/tailnet"
	"github.com/tailscale-gateway/tailscale-gateway/internal/observe"
	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
	"github.com/tailscale-gateway/tailscale-gateway/internal/secrets"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tailnet"
)

// Options configure the operator.
type Options struct {
	// Scheme knows the core kinds and this project's kinds.
	Scheme *runtime.Scheme
	// Namespace is the operator's own namespace: OAuth Secrets of
	// TailscaleTailnets that name no namespace live there.
	Namespace string
	// DefaultTailnet is the TailscaleTailnet of pools that name none.
	DefaultTailnet string
	// ProxyImage is the tsgw-proxy image of the pools' StatefulSets.
	ProxyImage string
	// OperatorID identifies this operator among those sharing a tailnet;
	// empty means derived from the kube-system namespace UID.
	OperatorID string
	// LeaderElection makes one replica of the operator active at a time.
	LeaderElection bool
	// MetricsAddr and ProbeAddr are where metrics and probes are served
	// ("0" disables).
	MetricsAddr, ProbeAddr string
	// MetricsInsecure serves metrics over plain HTTP to anyone; by default
	// they are served over HTTPS to callers the API server authenticates
	// and allows to get the /metrics URL (the metrics-reader ClusterRole).
	MetricsInsecure bool
	// SharedProcess allows more than one operator in this process (the dev
	// environment's extra clusters): controller names, which label
	// metrics, are then not checked for uniqueness.
	SharedProcess bool
	// Workers is how many objects each controller reconciles at once;
	// zero means DefaultWorkers. With one, a single blackholed tailnet API
	// would hold up every other tailnet's objects.
	Workers int
	// ReconcileTimeout bounds one reconcile; zero means
	// DefaultReconcileTimeout. A reconcile that runs out is retried with
	// backoff like any failure, and its worker is free again.
	ReconcileTimeout time.Duration
	// CleanupBound is how long a deleted pool or TailscaleServices whose
	// tailnet cleanup keeps failing is held before it is let go; zero
	// means cleanup.DefaultBound.
	CleanupBound time.Duration
}

// Defaults of Options.Workers and Options.ReconcileTimeout.
const (
	DefaultWorkers          = 4
	DefaultReconcileTimeout = time.Minute
)

// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;list;watch;create;update;patch;delete
// Leader election records its transitions as core Events (its recorder is
// client-go's record package), not through events.k8s.io as the
// controllers do.
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get

// metricsOptions: HTTPS (a self-signed certificate unless one is given)
// with every request authenticated and authorised by the API server
// (TokenReview, SubjectAccessReview for GET /metrics).
func metricsOptions(opts Options) metricsserver.Options {
	if opts.MetricsInsecure {
		return metricsserver.Options{BindAddress: opts.MetricsAddr}
	}
	return metricsserver.Options{
		BindAddress:    opts.MetricsAddr,
		SecureServing:  true,
		FilterProvider: filters.WithAuthenticationAndAuthorization,
	}
}

// New builds the manager with every controller registered.
func New(ctx context.Context, cfg *rest.Config, opts Options) (ctrl.Manager, error) {
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                  opts.Scheme,
		Metrics:                 metricsOptions(opts),
		HealthProbeBindAddress:  opts.ProbeAddr,
		LeaderElection:          opts.LeaderElection,
		LeaderElectionID:        "tailscale-gateway-operator",
		LeaderElectionNamespace: opts.Namespace,
		Controller: config.Controller{
			SkipNameValidation:      ptr.To(opts.SharedProcess),
			MaxConcurrentReconciles: cmp.Or(opts.Workers, DefaultWorkers),
			ReconciliationTimeout:   cmp.Or(opts.ReconcileTimeout, DefaultReconcileTimeout),
		},
		Cache: cache.Options{ByObject: map[client.Object]cache.ByObject{
			// Only the proxy pods are of interest: do not cache every pod.
			&corev1.Pod{}: {Label: labels.SelectorFromSet(labels.Set{pool.LabelManagedBy: pool.ManagedBy})},
			// Only the pools' ClusterRoleBindings, not every one.
			&rbacv1.ClusterRoleBinding{}: {Label: labels.SelectorFromSet(labels.Set{pool.LabelManagedBy: pool.ManagedBy})},
			// Every Secret is watched, other people's without their data.
			&corev1.Secret{}: {Transform: secrets.StripForeignData},
		}},
	})
	if err != nil {
		return nil, fmt.Errorf("creating the manager: %w", err)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return nil, err
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return nil, err
	}
	if opts.OperatorID == "" {
		if opts.OperatorID, err = DefaultOperatorID(ctx, mgr.GetAPIReader()); err != nil {
			return nil, err
		}
	}
	if err := observe.RegisterIndexes(ctx, mgr.GetFieldIndexer()); err != nil {
		return nil, err
	}
	if err := setupControllers(mgr, opts); err != nil {
		return nil, err
	}
	return mgr, nil
}

func setupControllers(mgr ctrl.Manager, opts Options) error {
	c := mgr.GetClient()
	// OAuth client and CA bundle Secrets are not ours: their data comes
	// from the API server, once per version.
	foreign := secrets.NewReader(c, mgr.GetAPIReader())
	tailnets := tailnet.NewClients(foreign, opts.Namespace, opts.DefaultTailnet)
	if err := (&tailnetctrl.Reconciler{
		Client:   c,
		Recorder: boundedRecorder{mgr.GetEventRecorder("tailscaletailnet-controller")},
		Tailnets: tailnets,
	}).SetupWithManager(mgr); err != nil {
		return err
	}
	if err := (&servicesctrl.Reconciler{
		Client:         c,
		Secrets:        foreign,
		Recorder:       boundedRecorder{mgr.GetEventRecorder("tailscaleservices-controller")},
		Tailnets:       tailnets,
		OperatorID:     opts.OperatorID,
		DefaultTailnet: opts.DefaultTailnet,
		CleanupBound:   opts.CleanupBound,
	}).SetupWithManager(mgr); err != nil {
		return err
	}
	if err := (&endpoints.Reconciler{
		Client:       c,
		Scheme:       mgr.GetScheme(),
		Recorder:     boundedRecorder{mgr.GetEventRecorder(endpoints.ControllerName)},
		Tailnets:     tailnets,
		OperatorID:   opts.OperatorID,
		APIReader:    mgr.GetAPIReader(),
		ProxyImage:   opts.ProxyImage,
		CleanupBound: opts.CleanupBound,
	}).SetupWithManager(mgr); err != nil {
		return err
	}
	return (&poolconfig.Reconciler{
		Client:         c,
		Secrets:        foreign,
		Scheme:         mgr.GetScheme(),
		DefaultTailnet: opts.DefaultTailnet,
	}).SetupWithManager(mgr)
}

// DefaultOperatorID derives a stable operator ID from the UID of the
// kube-system namespace, which is fixed for the life of a cluster.
func DefaultOperatorID(ctx context.Context, r client.Reader) (string, error) {
	ns := &corev1.Namespace{}
	if err := r.Get(ctx, client.ObjectKey{Name: "kube-system"}, ns); err != nil {
		return "", fmt.Errorf("deriving the operator ID from the kube-system namespace (or pass --operator-id): %w", err)
	}
	uid := string(ns.UID)
	if len(uid) > 8 {
		uid = uid[:8]
	}
	return "operator-" + uid, nil
}

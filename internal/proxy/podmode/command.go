package podmode

import (
	"context"
	"flag"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"syscall"

	"github.com/go-logr/logr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	"tailscale.com/logtail"
	"tailscale.com/net/netns"

	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
	adminpkg "github.com/tailscale-gateway/tailscale-gateway/internal/proxy/admin"
)

// Requested reports whether the command line asks for pod mode.
func Requested(args []string) bool {
	return slices.ContainsFunc(args, func(a string) bool {
		return a == "--pod" || a == "-pod" || a == "--pod=true" || a == "-pod=true"
	})
}

// Command is `proxy --pod`: it reads the pod's identity from the
// environment, serves until SIGTERM or SIGINT, and returns the exit status.
func Command(args []string) int {
	fs := flag.NewFlagSet("proxy --pod", flag.ContinueOnError)
	fs.Bool("pod", true, "run as a machine of a pool (POD_NAME, POD_NAMESPACE, TSGW_POOL)")
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig file (default $KUBECONFIG, else in-cluster credentials)")
	admin := fs.String("admin-address", "", "serve /healthz, /readyz (and /metrics without --metrics-address) here (default: the configuration's admin.address)")
	metrics := fs.String("metrics-address", "", "serve /metrics here over HTTPS to callers the API server authenticates and authorises (GET on the non-resource URL /metrics); the pod's ServiceAccount must be allowed to create TokenReviews and SubjectAccessReviews (default: /metrics is served plainly on the admin address)")
	stateDir := fs.String("state-dir", "", "tsnet's working directory (default $TMPDIR/tsgw-proxy-$POD_NAME; the node's identity is kept in the state Secret)")
	drain := fs.Duration("drain-timeout", pool.DrainTimeout, "how long SIGTERM waits for connections to finish (the pod's termination grace period is set for the default)")
	labMode := fs.Bool("lab", false, "running in the offline lab on loopback: no network namespaces (netns), no log upload")
	debug := fs.Bool("debug", false, "log at debug level (includes the tailnet node's logs)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	log := newLogger(*debug)
	id, err := IdentityFromEnv(os.Getenv)
	if err != nil {
		log.Error("missing pod environment", "error", err)
		return 2
	}
	kubeCfg, err := kubeConfig(*kubeconfig)
	if err != nil {
		log.Error("kubernetes client", "error", err)
		return 2
	}
	kube, err := kubernetes.NewForConfig(kubeCfg)
	if err != nil {
		log.Error("kubernetes client", "error", err)
		return 2
	}
	var filter adminpkg.Filter
	if *metrics != "" {
		if filter, err = AuthFilter(kubeCfg, log); err != nil {
			log.Error("metrics authentication and authorisation", "error", err)
			return 2
		}
	}
	if *labMode {
		// The lab's control, DERP and peers are on loopback, which netns
		// would route around; and it is offline, so logs must stay local.
		netns.SetEnabled(false)
		logtail.Disable()
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	err = Run(ctx, Options{
		Identity: id, Kube: kube, AdminAddress: *admin, StateDir: *stateDir,
		MetricsAddress: *metrics, MetricsFilter: filter,
		DrainTimeout: *drain, Logger: log,
	})
	if err != nil && ctx.Err() == nil {
		log.Error("stopped", "error", err)
		return 1
	}
	return 0
}

func newLogger(debug bool) *slog.Logger {
	level := slog.LevelInfo
	if debug {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// AuthFilter is controller-runtime's authentication and authorisation
// filter for metrics, as the operator's own metrics use: a bearer token
// is checked with a TokenReview, then GET /metrics with a
// SubjectAccessReview, both made with cfg's identity.
func AuthFilter(cfg *rest.Config, log *slog.Logger) (adminpkg.Filter, error) {
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	f, err := filters.WithAuthenticationAndAuthorization(cfg, httpClient)
	if err != nil {
		return nil, err
	}
	logger := logr.FromSlogHandler(log.Handler())
	return func(h http.Handler) (http.Handler, error) { return f(logger, h) }, nil
}

// kubeConfig uses the kubeconfig flag, else $KUBECONFIG (one file), else
// the in-cluster ServiceAccount.
func kubeConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig == "" {
		kubeconfig = os.Getenv("KUBECONFIG")
	}
	var cfg *rest.Config
	var err error
	if kubeconfig == "" {
		cfg, err = rest.InClusterConfig()
	} else {
		cfg, err = clientcmd.BuildConfigFromFlags("", kubeconfig)
	}
	if err != nil {
		return nil, err
	}
	cfg.UserAgent = "tsgw-proxy"
	return cfg, nil
}

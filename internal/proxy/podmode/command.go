package podmode

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"syscall"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"tailscale.com/logtail"
	"tailscale.com/net/netns"

	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
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
	admin := fs.String("admin-address", "", "serve /healthz, /readyz, /metrics here (default: the configuration's admin.address)")
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
	kube, err := kubeClient(*kubeconfig)
	if err != nil {
		log.Error("kubernetes client", "error", err)
		return 2
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

// kubeClient uses the kubeconfig flag, else $KUBECONFIG (one file), else
// the in-cluster ServiceAccount.
func kubeClient(kubeconfig string) (kubernetes.Interface, error) {
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
	return kubernetes.NewForConfig(cfg)
}

// Command operator runs the Tailscale Gateway operator: the controllers of
// TailscaleTailnet, TailscaleEndpoints and TailscaleServices.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/tailscale-gateway/tailscale-gateway/internal/cleanup"
	"github.com/tailscale-gateway/tailscale-gateway/internal/operator"
	"github.com/tailscale-gateway/tailscale-gateway/internal/scheme"
	"github.com/tailscale-gateway/tailscale-gateway/internal/version"
)

func main() {
	opts := operator.Options{Scheme: scheme.New()}
	flag.StringVar(&opts.Namespace, "namespace", envOr("POD_NAMESPACE", "tailscale-gateway"), "the operator's namespace (OAuth Secrets and leader election live there)")
	flag.StringVar(&opts.DefaultTailnet, "default-tailnet", "default", "TailscaleTailnet of pools that name none")
	flag.StringVar(&opts.ProxyImage, "proxy-image", "ghcr.io/tailscale-gateway/tsgw-proxy:"+version.Version, "image of the tsgw-proxy pods (default: the proxy of this operator's release)")
	flag.StringVar(&opts.OperatorID, "operator-id", "", "ID of this operator among those sharing a tailnet (default: derived from the kube-system namespace UID)")
	flag.BoolVar(&opts.LeaderElection, "leader-elect", true, "run one active replica at a time")
	flag.StringVar(&opts.MetricsAddr, "metrics-bind-address", ":8443", "metrics address (0 disables)")
	flag.BoolVar(&opts.MetricsInsecure, "metrics-insecure", false, "serve metrics over plain HTTP without authentication (default: HTTPS, callers authenticated and authorised by the API server)")
	flag.StringVar(&opts.ProbeAddr, "health-probe-bind-address", ":8081", "health probe address")
	flag.IntVar(&opts.Workers, "workers", operator.DefaultWorkers, "objects each controller reconciles at once")
	flag.DurationVar(&opts.ReconcileTimeout, "reconcile-timeout", operator.DefaultReconcileTimeout, "longest time one reconcile may take before it is retried")
	flag.DurationVar(&opts.CleanupBound, "cleanup-bound", cleanup.DefaultBound, "how long a deleted pool or TailscaleServices whose tailnet cleanup keeps failing (a dead or unauthorised tailnet API) is held before it is let go with a Warning")
	printVersion := flag.Bool("version", false, "print the version, commit and Go version, and exit")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	if *printVersion {
		fmt.Println("tsgw-operator", version.String())
		return
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	log := ctrl.Log.WithName("operator")
	log.Info("starting", "version", version.Version, "commit", version.Commit, "go", runtime.Version())

	ctx := ctrl.SetupSignalHandler()
	cfg, err := ctrl.GetConfig()
	if err != nil {
		log.Error(err, "no Kubernetes configuration")
		os.Exit(1)
	}
	mgr, err := operator.New(ctx, cfg, opts)
	if err != nil {
		log.Error(err, "cannot start")
		os.Exit(1)
	}
	if err := mgr.Start(ctx); err != nil {
		log.Error(err, "stopped with an error")
		os.Exit(1)
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

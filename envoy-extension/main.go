// Command envoy-extension is Tailscale Gateway's Envoy Gateway extension
// server: it lets HTTPRoutes use a TailscaleServices as a backendRef by
// pointing the cluster Envoy Gateway builds for it at the TailscaleServices'
// in-cluster Service, <name>-vip. See README.md for how to deploy it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"google.golang.org/grpc/credentials"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/tailscale-gateway/tailscale-gateway/envoy-extension/internal/routewarn"
	"github.com/tailscale-gateway/tailscale-gateway/envoy-extension/internal/server"
	"github.com/tailscale-gateway/tailscale-gateway/envoy-extension/internal/version"
)

// stopTimeout bounds the graceful stop, well inside Kubernetes' default
// 30-second termination grace period.
const stopTimeout = 10 * time.Second

func main() {
	opts, err := parseFlags(os.Args[0], os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		if !errors.Is(err, errPrinted) {
			fmt.Fprintln(os.Stderr, err)
		}
		os.Exit(2)
	}
	if opts.printVersion {
		fmt.Println("envoy-extension", version.String())
		return
	}

	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: opts.level}))
	log.Info("envoy-extension starting", "version", version.Version, "commit", version.Commit, "go", runtime.Version())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := start(ctx, opts, log); err != nil {
		log.Error("envoy-extension failed", "error", err)
		os.Exit(1)
	}
}

// start loads what the options name (Kubernetes config, TLS files), so that
// bad ones stop the server before it listens, then listens and serves.
func start(ctx context.Context, opts options, log *slog.Logger) error {
	routes, cfg, err := routeReader(opts.kubeconfig, log)
	if err != nil {
		return err
	}
	if opts.warnRoutes {
		warnRoutes(ctx, cfg, log)
	}
	creds, transport, err := transportCredentials(opts.tls, nil, log)
	if err != nil {
		return err
	}
	return listenAndRun(ctx, opts.listen, opts.healthListen, serveOptions{
		clusterDomain: opts.clusterDomain, routes: routes, creds: creds, transport: transport,
	}, log)
}

// routeReader reads HTTPRoutes with the kubeconfig file path, or the
// in-cluster config, or $KUBECONFIG, in that order, and returns that
// config too; with none of them it returns nils (no route lookups) and
// logs that. A path given that cannot be loaded is an error.
func routeReader(path string, log *slog.Logger) (server.RouteReader, *rest.Config, error) {
	cfg, source, err := kubeConfig(path)
	if err != nil {
		return nil, nil, err
	}
	if cfg == nil {
		log.Warn("no Kubernetes config (not in a cluster, no --kubeconfig, no $KUBECONFIG): HTTPRoutes are not read, so the port always comes from the TailscaleServices' annotation or single tcp port", "inClusterError", source)
		return nil, nil, nil
	}
	routes, err := server.NewRouteReader(cfg)
	if err != nil {
		return nil, nil, err
	}
	log.Info("reading HTTPRoutes for backendRef ports", "config", source, "apiServer", cfg.Host)
	return routes, cfg, nil
}

// warnRoutes runs routewarn in the background with cfg, unless it is nil.
// Its failure is logged and leaves the hooks serving: the warnings are an
// aid, the hooks are what Envoy Gateway waits for.
func warnRoutes(ctx context.Context, cfg *rest.Config, log *slog.Logger) {
	if cfg == nil {
		log.Warn("no Kubernetes config: no Warning Events on GRPCRoutes, TCPRoutes, TLSRoutes or UDPRoutes naming a TailscaleServices")
		return
	}
	// controller-runtime's packages log through its global logger too.
	ctrllog.SetLogger(logr.FromSlogHandler(log.Handler()))
	go func() {
		if err := routewarn.Run(ctx, cfg, log); err != nil && ctx.Err() == nil {
			log.Error("stopped warning about routes naming a TailscaleServices; the hooks still serve", "error", err)
		}
	}()
}

// kubeConfig loads the config routeReader describes. With none, cfg is nil
// and source says why the in-cluster config was not used.
func kubeConfig(path string) (cfg *rest.Config, source string, err error) {
	if path != "" {
		cfg, err := clientcmd.BuildConfigFromFlags("", path)
		if err != nil {
			return nil, "", fmt.Errorf("--kubeconfig=%s: %w", path, err)
		}
		return cfg, "--kubeconfig=" + path, nil
	}
	cfg, inClusterErr := rest.InClusterConfig()
	if inClusterErr == nil {
		return cfg, "in-cluster", nil
	}
	env := os.Getenv("KUBECONFIG")
	if env == "" {
		return nil, inClusterErr.Error(), nil
	}
	rules := &clientcmd.ClientConfigLoadingRules{Precedence: filepath.SplitList(env)}
	cfg, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, "", fmt.Errorf("$KUBECONFIG=%s: %w", env, err)
	}
	return cfg, "$KUBECONFIG", nil
}

// serveOptions are what run serves with, besides its listeners.
type serveOptions struct {
	clusterDomain string
	routes        server.RouteReader               // nil: no route lookups
	creds         credentials.TransportCredentials // TLS, or plain text
	transport     string                           // how creds secure connections, for the log
}

// listenAndRun listens on address, and on healthAddress unless it is
// empty, and runs.
func listenAndRun(ctx context.Context, address, healthAddress string, opts serveOptions, log *slog.Logger) error {
	lis, err := net.Listen("tcp", address)
	if err != nil {
		return fmt.Errorf("--listen: %w", err)
	}
	var health net.Listener
	if healthAddress != "" {
		if health, err = net.Listen("tcp", healthAddress); err != nil {
			lis.Close()
			return fmt.Errorf("--health-listen: %w", err)
		}
	}
	return run(ctx, lis, health, opts, log)
}

// run serves on lis, and the health service alone on health unless it is
// nil, until ctx ends, then stops gracefully.
func run(ctx context.Context, lis, health net.Listener, opts serveOptions, log *slog.Logger) error {
	ext, err := server.NewExtension(opts.clusterDomain, opts.routes, log)
	if err != nil {
		lis.Close()
		if health != nil {
			health.Close()
		}
		return fmt.Errorf("--cluster-domain: %w", err)
	}
	srv := server.NewServer(ext, opts.creds)
	served := make(chan error, 2)
	go func() { served <- srv.Serve(lis) }()
	serving := []any{"address", lis.Addr().String(), "transport", opts.transport, "clusterDomain", opts.clusterDomain, "routeLookups", opts.routes != nil}
	if health != nil {
		go func() { served <- srv.ServeHealth(health) }()
		serving = append(serving, "healthAddress", health.Addr().String())
	}
	log.Info("serving the Envoy Gateway extension", serving...)

	select {
	case err := <-served:
		// One listener failed: stop the other too.
		stopCtx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		defer cancel()
		srv.Stop(stopCtx)
		return fmt.Errorf("serving gRPC: %w", err)
	case <-ctx.Done():
	}
	log.Info("stopping: letting calls in flight finish", "timeout", stopTimeout.String())
	stopCtx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	srv.Stop(stopCtx)
	err = <-served
	if health != nil {
		err = errors.Join(err, <-served)
	}
	return err
}

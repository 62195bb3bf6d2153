// Command envoy-extension is Tailscale Gateway's Envoy Gateway extension
// server: it lets HTTPRoutes use a TailscaleServices as a backendRef by
// pointing the cluster Envoy Gateway builds for it at the TailscaleServices'
// in-cluster Service, <name>-vip. See README.md for how to deploy it.
package main

import (
	"context"
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

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/tailscale-gateway/tailscale-gateway/envoy-extension/internal/server"
	"github.com/tailscale-gateway/tailscale-gateway/envoy-extension/internal/version"
)

// stopTimeout bounds the graceful stop, well inside Kubernetes' default
// 30-second termination grace period.
const stopTimeout = 10 * time.Second

func main() {
	listen := flag.String("listen", ":5005", "address the gRPC server listens on")
	clusterDomain := flag.String("cluster-domain", "cluster.local", "the cluster's DNS domain, ending Service names as in <service>.<namespace>.svc.<domain>")
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig file for reading HTTPRoutes; default: the in-cluster config, else $KUBECONFIG; with neither, the port always comes from the TailscaleServices")
	var level slog.Level
	flag.TextVar(&level, "log-level", slog.LevelInfo, "least severe level logged: debug, info, warn or error (debug logs every cluster rewritten)")
	printVersion := flag.Bool("version", false, "print the version, commit and Go version, and exit")
	flag.Parse()
	if *printVersion {
		fmt.Println("envoy-extension", version.String())
		return
	}

	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	log.Info("envoy-extension starting", "version", version.Version, "commit", version.Commit, "go", runtime.Version())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	routes, err := routeReader(*kubeconfig, log)
	if err != nil {
		log.Error("envoy-extension failed", "error", err)
		os.Exit(1)
	}
	if err := listenAndRun(ctx, *listen, *clusterDomain, routes, log); err != nil {
		log.Error("envoy-extension failed", "error", err)
		os.Exit(1)
	}
}

// routeReader reads HTTPRoutes with the kubeconfig file path, or the
// in-cluster config, or $KUBECONFIG, in that order; with none of them it
// returns nil (no route lookups) and logs that. A path given that cannot be
// loaded is an error.
func routeReader(path string, log *slog.Logger) (server.RouteReader, error) {
	cfg, source, err := kubeConfig(path)
	if err != nil {
		return nil, err
	}
	if cfg == nil {
		log.Warn("no Kubernetes config (not in a cluster, no --kubeconfig, no $KUBECONFIG): HTTPRoutes are not read, so the port always comes from the TailscaleServices' annotation or single tcp port", "inClusterError", source)
		return nil, nil
	}
	routes, err := server.NewRouteReader(cfg)
	if err != nil {
		return nil, err
	}
	log.Info("reading HTTPRoutes for backendRef ports", "config", source, "apiServer", cfg.Host)
	return routes, nil
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

func listenAndRun(ctx context.Context, address, clusterDomain string, routes server.RouteReader, log *slog.Logger) error {
	lis, err := net.Listen("tcp", address)
	if err != nil {
		return err
	}
	return run(ctx, lis, clusterDomain, routes, log)
}

// run serves on lis until ctx ends, then stops gracefully. routes may be
// nil: no route lookups.
func run(ctx context.Context, lis net.Listener, clusterDomain string, routes server.RouteReader, log *slog.Logger) error {
	ext, err := server.NewExtension(clusterDomain, routes, log)
	if err != nil {
		lis.Close()
		return fmt.Errorf("--cluster-domain: %w", err)
	}
	srv := server.NewServer(ext)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	log.Info("serving the Envoy Gateway extension", "address", lis.Addr().String(), "clusterDomain", clusterDomain, "routeLookups", routes != nil)

	select {
	case err := <-served:
		return fmt.Errorf("serving gRPC: %w", err)
	case <-ctx.Done():
	}
	log.Info("stopping: letting calls in flight finish", "timeout", stopTimeout.String())
	stopCtx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	srv.Stop(stopCtx)
	return <-served
}

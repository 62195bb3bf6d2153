// Command dev-cluster is `make dev-cluster`: Tailscale Gateway on the real
// node of `make cluster-up`, installed by its Helm chart, with the lab
// tailnet and the Tailscale API emulator on the host at the node's bridge
// address, and the samples applied (package clusterenv). It prints the
// same "tsgw dev ready:" line as `make dev`, runs until Ctrl-C or SIGTERM,
// then uninstalls the chart and stops the lab.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/go-logr/logr"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/tailscale-gateway/tailscale-gateway/test/cluster/clusterenv"
)

func main() {
	var opts clusterenv.Options
	flag.StringVar(&opts.Repo, "repo", "../..", "the repository's root (the chart)")
	flag.StringVar(&opts.Kubeconfig, "node-kubeconfig", "../../.cluster/admin.kubeconfig", "the node's admin kubeconfig (make cluster-up)")
	flag.StringVar(&opts.NodeIP, "node-ip", "10.88.0.1", "the node's bridge address, where pods reach the lab")
	flag.StringVar(&opts.ImageTag, "image-tag", "", "tag of the operator and tsgw-proxy images in the node (hack/cluster/images.sh)")
	flag.StringVar(&opts.SamplesDir, "samples", "samples", "objects to apply once running (empty: none)")
	flag.StringVar(&opts.SOCKS5Addr, "socks5-addr", "127.0.0.1:1080", "lab SOCKS5 proxy address (a free port if taken)")
	flag.Parse()
	if opts.ImageTag == "" {
		fmt.Fprintln(os.Stderr, "dev-cluster: --image-tag is required")
		os.Exit(2)
	}
	ctrl.SetLogger(logr.FromSlogHandler(slog.Default().Handler()))
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if err := run(ctx, opts); err != nil {
		slog.Error("dev-cluster failed", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, opts clusterenv.Options) error {
	slog.Info("installing the chart and starting the lab", "kubeconfig", opts.Kubeconfig)
	env, err := clusterenv.Start(ctx, opts)
	if err != nil {
		return err
	}
	fmt.Println(env.ReadyLine())
	fmt.Println(env.TryLine())
	<-ctx.Done()
	slog.Info("stopping: uninstalling the chart, stopping the lab")
	return env.Stop()
}

// Command dev runs Tailscale Gateway locally: a real kube-apiserver and etcd,
// the CRDs and the samples. It prints one line beginning "tsgw dev ready:"
// with where to reach everything, and runs until Ctrl-C or SIGTERM, then
// stops all it started.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/tailscale-gateway/tailscale-gateway/internal/devenv"
)

func main() {
	var opts devenv.Options
	flag.StringVar(&opts.CRDDir, "crds", "config/crd/bases", "directory of the generated CRDs")
	flag.StringVar(&opts.SamplesDir, "samples", "config/samples", "directory of objects to apply once running (empty: none)")
	flag.StringVar(&opts.StateDir, "state-dir", ".dev", "directory for the kubeconfig and other state")
	flag.Parse()

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if err := run(ctx, opts); err != nil {
		slog.Error("dev environment failed", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, opts devenv.Options) error {
	env, err := devenv.Start(ctx, opts)
	if err != nil {
		return err
	}
	fmt.Println(env.ReadyLine())
	<-ctx.Done()
	slog.Info("stopping the dev environment")
	return env.Stop()
}

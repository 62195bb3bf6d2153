package devenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tailscale-gateway/tailscale-gateway/internal/lab/podrunner"
	"github.com/tailscale-gateway/tailscale-gateway/internal/operator"
	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
	"github.com/tailscale-gateway/tailscale-gateway/internal/scheme"
)

// startOperator runs the operator in this process, as it would run in a
// cluster but without leader election, metrics or probes.
// DefaultOperatorID is the operator ID when Options.OperatorID is empty.
const DefaultOperatorID = "dev-operator"

func (e *Env) startOperator(ctx context.Context, id string, shared bool) error {
	if id == "" {
		id = DefaultOperatorID
	}
	mgr, err := operator.New(ctx, e.Config, operator.Options{
		Scheme:         scheme.New(),
		Namespace:      OperatorNamespace,
		DefaultTailnet: TailnetName,
		ProxyImage:     "tsgw-proxy:dev",
		OperatorID:     id,
		MetricsAddr:    "0",
		ProbeAddr:      "0",
		SharedProcess:  shared,
	})
	if err != nil {
		return err
	}
	// Its own context: the operator must outlive whatever cancelled the
	// caller's (Ctrl-C) until Stop reaches it in order.
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(runCtx) }()
	e.stop = append(e.stop, func() error {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			return fmt.Errorf("operator: %w", err)
		}
		return nil
	})
	return nil
}

// startPods runs the pools' proxies: the lab has no kubelet.
func (e *Env) startPods(ctx context.Context, opts Options) error {
	binary, err := filepath.Abs(opts.ProxyBinary)
	if err != nil {
		return err
	}
	if _, err := os.Stat(binary); err != nil {
		return fmt.Errorf("the proxy binary: %w (run make build, or pass an empty --proxy-binary to run no proxies)", err)
	}
	r, err := podrunner.Start(ctx, podrunner.Options{
		Config:    e.Config,
		Binary:    binary,
		ExtraArgs: []string{"--lab"},
		StateDir:  filepath.Join(opts.StateDir, "pods"),
		Selector:  pool.LabelManagedBy + "=" + pool.ManagedBy,
		Stderr:    opts.PodOutput,
		Logf:      opts.Logf,
	})
	if err != nil {
		return err
	}
	e.Pods = r
	e.stop = append(e.stop, r.Stop)
	e.PodLogDir = filepath.Join(opts.StateDir, "pods")
	return nil
}

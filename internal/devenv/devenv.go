// Package devenv runs Tailscale Gateway on one machine with nothing but the
// project's own files: a real kube-apiserver and etcd (envtest), the CRDs
// and the samples. `make dev` runs it through cmd/dev.
package devenv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/tailscale-gateway/tailscale-gateway/internal/scheme"
)

// Options configure the dev environment.
type Options struct {
	CRDDir     string // generated CRDs
	SamplesDir string // objects applied once everything runs
	StateDir   string // where the kubeconfig is written
}

// Env is a running dev environment.
type Env struct {
	KubeconfigPath string
	Config         *rest.Config
	Client         client.Client
	ready          map[string]string
	stop           []func() error
}

// Start starts the API server, installs the CRDs and applies the samples.
// On error, whatever was started is stopped.
func Start(ctx context.Context, opts Options) (_ *Env, err error) {
	e := &Env{ready: map[string]string{}}
	defer func() {
		if err != nil {
			e.Stop()
		}
	}()
	if err := e.startAPIServer(opts); err != nil {
		return nil, err
	}
	if opts.SamplesDir != "" {
		if _, err := ApplyDir(ctx, e.Client, opts.SamplesDir); err != nil {
			return nil, fmt.Errorf("applying samples: %w", err)
		}
	}
	return e, nil
}

func (e *Env) startAPIServer(opts Options) error {
	env := &envtest.Environment{CRDDirectoryPaths: []string{opts.CRDDir}, ErrorIfCRDPathMissing: true}
	// Stop even after a failed Start: it may have left etcd running.
	e.stop = append(e.stop, env.Stop)
	cfg, err := env.Start()
	if err != nil {
		return fmt.Errorf("starting kube-apiserver and etcd: %w", err)
	}
	if err := os.MkdirAll(opts.StateDir, 0o700); err != nil {
		return err
	}
	stateDir, err := filepath.Abs(opts.StateDir)
	if err != nil {
		return err
	}
	e.KubeconfigPath = filepath.Join(stateDir, "kubeconfig")
	if err := os.WriteFile(e.KubeconfigPath, env.KubeConfig, 0o600); err != nil {
		return err
	}
	e.Config = cfg
	e.Client, err = client.New(cfg, client.Options{Scheme: scheme.New()})
	if err != nil {
		return err
	}
	e.ready["kubeconfig"] = e.KubeconfigPath
	return nil
}

// ReadyLine is the one line `make dev` prints when everything runs.
func (e *Env) ReadyLine() string {
	keys := make([]string, 0, len(e.ready))
	for k := range e.ready {
		if k != "kubeconfig" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := []string{"tsgw dev ready:", "kubeconfig=" + e.ready["kubeconfig"]}
	for _, k := range keys {
		parts = append(parts, k+"="+e.ready[k])
	}
	return strings.Join(parts, " ")
}

// Stop stops everything the environment started, last started first.
func (e *Env) Stop() error {
	var errs []error
	for i := len(e.stop) - 1; i >= 0; i-- {
		if err := e.stop[i](); err != nil {
			errs = append(errs, err)
		}
	}
	e.stop = nil
	if len(errs) > 0 {
		return fmt.Errorf("stopping: %v", errs)
	}
	return nil
}

// Package clusterenv is Tailscale Gateway on the real node of `make
// cluster-up`: the operator installed by its Helm chart from the images
// `make test-cluster` imports into the node, its pools' proxies as real
// pods, and on the host the lab tailnet and the Tailscale API emulator,
// listening on the node's bridge address so that pods reach them and
// nothing leaves the machine (package devenv with Options.Kubeconfig).
// `make dev-cluster` and the tests of this module use it.
package clusterenv

import (
	"context"
	"fmt"
	"net"
	"path/filepath"

	"helm.sh/helm/v4/pkg/action"

	"github.com/tailscale-gateway/tailscale-gateway/internal/devenv"
)

// Options of a cluster environment.
type Options struct {
	// Repo is the repository's root: the chart and the samples are read
	// from it.
	Repo string
	// Kubeconfig is the node's admin kubeconfig (cluster-up prints it).
	Kubeconfig string
	// NodeIP is the node's bridge address: pods reach the lab's control,
	// DERP, STUN and the API emulator there.
	NodeIP string
	// ImageTag is the tag of the operator and tsgw-proxy images imported
	// into the node (ghcr.io/tailscale-gateway/{operator,tsgw-proxy}).
	ImageTag string
	// SamplesDir is applied once everything runs; empty: none.
	SamplesDir string
	// SOCKS5Addr is where the lab's SOCKS5 proxy listens (a free port
	// if taken); empty: a free loopback port.
	SOCKS5Addr string
	// Logf receives the lab's messages; discarded if nil.
	Logf func(format string, args ...any)
}

// Env is a running cluster environment.
type Env struct {
	*devenv.Env
	opts Options
	helm *action.Configuration
}

// Namespace is the chart's release namespace, also the devenv operator
// namespace where the lab's OAuth Secret lives.
const Namespace = devenv.OperatorNamespace

// Start installs the chart (it waits for the operator's pods), then starts
// the lab and the emulator on the node's address, creates the lab's
// TailscaleTailnet and applies the samples.
func Start(ctx context.Context, opts Options) (*Env, error) {
	if net.ParseIP(opts.NodeIP) == nil {
		return nil, fmt.Errorf("node IP %q is not an IP address", opts.NodeIP)
	}
	helm, err := helmConfig(opts.Kubeconfig, Namespace)
	if err != nil {
		return nil, err
	}
	e := &Env{opts: opts, helm: helm}
	if err := e.Install(ctx, nil); err != nil {
		return nil, err
	}
	env, err := devenv.Start(ctx, devenv.Options{
		Kubeconfig:  opts.Kubeconfig,
		RelayIP:     opts.NodeIP,
		ControlAddr: net.JoinHostPort(opts.NodeIP, "0"),
		APIAddr:     net.JoinHostPort(opts.NodeIP, "0"),
		SOCKS5Addr:  opts.SOCKS5Addr,
		SamplesDir:  opts.SamplesDir,
		Logf:        opts.Logf,
	})
	if err != nil {
		return nil, err
	}
	e.Env = env
	return e, nil
}

// Values are the chart's values of this environment, with extra merged
// over them (a nil extra changes nothing).
func (e *Env) Values(extra map[string]any) map[string]any {
	v := map[string]any{
		"image":          map[string]any{"tag": e.opts.ImageTag, "pullPolicy": "IfNotPresent"},
		"proxyImage":     map[string]any{"tag": e.opts.ImageTag},
		"defaultTailnet": devenv.TailnetName,
	}
	for k, x := range extra {
		v[k] = x
	}
	return v
}

// Install installs the chart with Values(extra), or upgrades the release
// to them, and waits for the operator's pods to be ready.
func (e *Env) Install(ctx context.Context, extra map[string]any) error {
	chart := filepath.Join(e.opts.Repo, "charts", "tailscale-gateway")
	return installChart(ctx, e.helm, chart, Namespace, e.Values(extra))
}

// Stop uninstalls the chart (the operator first, so that it does not
// spend its last minutes retrying a vanished tailnet), then stops the lab
// and the emulator. What the operator made in the tailnet goes with the
// lab; `make cluster-down` removes the node itself.
func (e *Env) Stop() error {
	err := uninstallChart(e.helm)
	if e.Env != nil {
		if serr := e.Env.Stop(); serr != nil && err == nil {
			err = serr
		}
	}
	return err
}

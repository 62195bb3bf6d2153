// Package devenv runs Tailscale Gateway on one machine with nothing but the
// project's own files: a real kube-apiserver and etcd (envtest) with the
// CRDs, the lab tailnet (control, DERP, STUN, a SOCKS5 way in), the
// Tailscale API emulator, the operator in-process, the pools' proxies as
// local processes (package lab/podrunner), loopback backends for the
// samples, and the samples. `make dev` runs it through cmd/dev.
package devenv

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/tailscale-gateway/tailscale-gateway/internal/apiemulator"
	"github.com/tailscale-gateway/tailscale-gateway/internal/lab"
	"github.com/tailscale-gateway/tailscale-gateway/internal/lab/controllermanager"
	"github.com/tailscale-gateway/tailscale-gateway/internal/lab/podrunner"
	"github.com/tailscale-gateway/tailscale-gateway/internal/scheme"
)

// Options configure the dev environment.
type Options struct {
	CRDDir     string // generated CRDs
	SamplesDir string // objects applied once everything runs; empty: none
	StateDir   string // the kubeconfig, and the proxies' kubeconfigs and logs
	// ControlAddr, SOCKS5Addr and APIAddr are where the lab's control
	// server, its SOCKS5 proxy and the Tailscale API emulator listen; each
	// moves to a free port when taken. Empty means a free loopback port.
	ControlAddr, SOCKS5Addr, APIAddr string
	// ProxyBinary is run for every replica of every pool; empty runs no
	// proxies (no pod runner).
	ProxyBinary string
	// Backends are served on loopback for the samples' pools.
	Backends []Backend
	// PodOutput, if set, also receives the proxies' output, each line
	// prefixed with its pod; it always goes to log files in StateDir/pods.
	PodOutput io.Writer
	// Logf receives the lab's and the pod runner's messages; discarded if nil.
	Logf func(format string, args ...any)
	// Join, if set, makes this environment another cluster on Join's
	// tailnet: it uses Join's lab, Tailscale API emulator and OAuth client
	// instead of starting its own (ControlAddr, SOCKS5Addr and APIAddr are
	// then unused), and stops none of them.
	Join *Env
	// Kubeconfig, if set, is a running cluster (`make cluster-up`) whose
	// operator and proxies run there as pods, installed by whoever set
	// the cluster up: then no API server, controller-manager, operator or
	// pod runner is started (CRDDir and ProxyBinary are unused); the lab,
	// the emulator, the lab's TailscaleTailnet and the samples are.
	Kubeconfig string
	// RelayIP is where the lab's DERP relay and STUN server listen
	// (lab.Options.RelayIP). With Kubeconfig, pods must reach it and the
	// control and API addresses, e.g. on the node's bridge address.
	RelayIP string
	// OperatorID names this environment's operator in VIP service
	// registries; default "dev-operator". Clusters sharing a tailnet need
	// different ones.
	OperatorID string
}

// Env is a running dev environment.
type Env struct {
	KubeconfigPath string
	Config         *rest.Config
	Client         client.Client
	Lab            *lab.Lab
	Emulator       *apiemulator.Server
	APIURL         string            // the Tailscale API emulator's base URL
	Pods           *podrunner.Runner // nil without Options.ProxyBinary
	PodLogDir      string            // the proxies' logs, one directory per pod
	oauth          oauthClient
	ready          map[string]string
	stop           []func() error
}

// Start starts everything, in order: API server, lab tailnet, API
// emulator, the lab's TailscaleTailnet, operator, proxies, backends,
// samples (with Options.Kubeconfig, the given cluster instead of the API
// server, and no operator or proxies). ctx bounds the start-up only; Stop stops it all. On error,
// whatever was started is stopped.
func Start(ctx context.Context, opts Options) (_ *Env, err error) {
	opts = withDefaultAddrs(opts)
	e := &Env{ready: map[string]string{}}
	defer func() {
		if err != nil {
			e.Stop()
		}
	}()
	for _, step := range e.steps(ctx, opts) {
		if err := step.run(); err != nil {
			return nil, fmt.Errorf("%s: %w", step.what, err)
		}
	}
	return e, nil
}

type step struct {
	what string
	run  func() error
}

// steps are what Start does, in order: in a cluster of its own (envtest)
// or in one given by Options.Kubeconfig, whose operator and proxies are
// already pods.
func (e *Env) steps(ctx context.Context, opts Options) []step {
	var cluster []step
	if opts.Kubeconfig != "" {
		cluster = []step{{"connecting to the cluster", func() error { return e.connect(opts.Kubeconfig) }}}
	} else {
		cluster = []step{
			{"starting kube-apiserver and etcd", func() error { return e.startAPIServer(opts) }},
			{"starting kube-controller-manager", func() error { return e.startControllerManager(opts) }},
		}
	}
	tailnet := []step{
		{"starting the lab tailnet", func() error { return e.startLab(ctx, opts) }},
		{"starting the Tailscale API emulator", func() error { return e.startEmulator(opts) }},
		{"creating the lab TailscaleTailnet", func() error { return e.createTailnet(ctx) }},
	}
	var operator []step
	if opts.Kubeconfig == "" {
		operator = []step{
			{"starting the operator", func() error { return e.startOperator(ctx, opts.OperatorID, opts.Join != nil) }},
			{"starting the proxies", func() error { return e.startProxies(ctx, opts) }},
		}
	}
	apps := []step{
		{"starting the backends", func() error { return e.startBackends(opts.Backends) }},
		{"applying the samples", func() error { return e.applySamples(ctx, opts.SamplesDir) }},
	}
	return slices.Concat(cluster, tailnet, operator, apps)
}

func withDefaultAddrs(opts Options) Options {
	for _, addr := range []*string{&opts.ControlAddr, &opts.SOCKS5Addr, &opts.APIAddr} {
		if *addr == "" {
			*addr = "127.0.0.1:0"
		}
	}
	return opts
}

func (e *Env) startProxies(ctx context.Context, opts Options) error {
	if opts.ProxyBinary == "" {
		return nil
	}
	return e.startPods(ctx, opts)
}

func (e *Env) applySamples(ctx context.Context, dir string) error {
	if dir == "" {
		return nil
	}
	_, err := ApplyDir(ctx, e.Client, dir)
	return err
}

// connect uses the cluster of a kubeconfig file.
func (e *Env) connect(kubeconfig string) error {
	path, err := filepath.Abs(kubeconfig)
	if err != nil {
		return err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return err
	}
	e.KubeconfigPath, e.Config = path, cfg
	if e.Client, err = client.New(cfg, client.Options{Scheme: scheme.New()}); err != nil {
		return err
	}
	e.ready["kubeconfig"] = path
	return nil
}

func (e *Env) startAPIServer(opts Options) error {
	env := &envtest.Environment{CRDDirectoryPaths: []string{opts.CRDDir}, ErrorIfCRDPathMissing: true}
	// Stop even after a failed Start: it may have left etcd running.
	e.stop = append(e.stop, env.Stop)
	cfg, err := env.Start()
	if err != nil {
		return err
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

// startControllerManager runs the garbage collector and the namespace
// lifecycle, so that owned objects go with their owners and a deleted
// namespace is emptied and removed, as in a cluster. Its log goes to
// StateDir/kube-controller-manager.log.
func (e *Env) startControllerManager(opts Options) error {
	logPath := filepath.Join(filepath.Dir(e.KubeconfigPath), "kube-controller-manager.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	kcm, err := controllermanager.Start(controllermanager.Options{
		BinaryDir: os.Getenv("KUBEBUILDER_ASSETS"), Kubeconfig: e.KubeconfigPath, Output: logFile,
	})
	if err != nil {
		logFile.Close()
		return err
	}
	e.stop = append(e.stop, func() error {
		defer logFile.Close()
		return kcm.Stop()
	})
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

// TryLine shows how to reach the sample VIP service from outside the tailnet.
func (e *Env) TryLine() string {
	return fmt.Sprintf("try: curl --socks5-hostname %s http://web.%s/", e.ready["socks5"], e.ready["tailnet-domain"])
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

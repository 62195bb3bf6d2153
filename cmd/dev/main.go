// Command dev runs Tailscale Gateway locally: a real kube-apiserver and
// etcd with the CRDs, the lab tailnet, the Tailscale API emulator, the
// operator, the pools' proxies as local processes, loopback backends and
// the samples. It prints one line beginning "tsgw dev ready:" with where
// to reach everything, then an example command, and runs until Ctrl-C or
// SIGTERM, then stops all it started, last started first.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/go-logr/logr"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/tailscale-gateway/tailscale-gateway/internal/devenv"
)

func main() {
	var opts devenv.Options
	var backends string
	flag.StringVar(&opts.CRDDir, "crds", "config/crd/bases", "directory of the generated CRDs")
	flag.StringVar(&opts.SamplesDir, "samples", "config/samples", "directory of objects to apply once running (empty: none)")
	flag.StringVar(&opts.StateDir, "state-dir", ".dev", "directory for the kubeconfig, the proxies' kubeconfigs and their logs")
	flag.StringVar(&opts.ControlAddr, "control-addr", "127.0.0.1:9911", "lab control server address (a free port if taken)")
	flag.StringVar(&opts.SOCKS5Addr, "socks5-addr", "127.0.0.1:1080", "lab SOCKS5 proxy address (a free port if taken)")
	flag.StringVar(&opts.APIAddr, "tailscale-api-addr", "127.0.0.1:9912", "Tailscale API emulator address (a free port if taken)")
	flag.StringVar(&opts.ProxyBinary, "proxy-binary", "bin/proxy", "tsgw-proxy binary run for every pool replica (empty: run no proxies)")
	flag.StringVar(&backends, "backends", "web-east=127.0.0.1:18081,web-west=127.0.0.1:18082", "loopback HTTP backends NAME=ADDR,… the samples forward to (empty: none)")
	quietPods := flag.Bool("quiet-pods", false, "keep the proxies' output in their log files only, not on stderr")
	verbose := flag.Bool("v", false, "log the lab tailnet's and the pod runner's messages")
	flag.Parse()

	var err error
	if opts.Backends, err = parseBackends(backends); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if !*quietPods {
		opts.PodOutput = os.Stderr
	}
	if *verbose {
		opts.Logf = func(format string, args ...any) { slog.Debug(fmt.Sprintf(format, args...)) }
		slog.SetLogLoggerLevel(slog.LevelDebug)
	}
	ctrl.SetLogger(logr.FromSlogHandler(slog.Default().Handler()))

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
	fmt.Println(env.TryLine())
	if env.PodLogDir != "" {
		slog.Info("proxy logs", "dir", env.PodLogDir)
	}
	<-ctx.Done()
	slog.Info("stopping the dev environment")
	return env.Stop()
}

func parseBackends(s string) ([]devenv.Backend, error) {
	var out []devenv.Backend
	for item := range strings.SplitSeq(s, ",") {
		if item == "" {
			continue
		}
		name, addr, ok := strings.Cut(item, "=")
		if !ok || name == "" || addr == "" {
			return nil, fmt.Errorf("--backends: %q is not NAME=ADDR", item)
		}
		out = append(out, devenv.Backend{Name: name, Addr: addr})
	}
	return out, nil
}

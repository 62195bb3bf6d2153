// Command proxy is tsgw-proxy, the data plane of Tailscale Gateway. In
// standalone mode it forwards plain TCP listeners described by a file:
//
//	proxy --config proxy.yaml [--pprof 127.0.0.1:6060]
//	proxy --version
//
// SIGHUP (or a change of the file) reloads; SIGTERM drains and exits. A bad
// configuration at start exits with status 2.
//
// In a pool's pod it is a tailnet node serving the pool's ConfigMap:
//
//	proxy --pod [--kubeconfig PATH] [--admin-address ADDR] [--state-dir DIR]
//
// (see package podmode for every flag).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"syscall"
	"time"

	"github.com/tailscale-gateway/tailscale-gateway/internal/proxy/podmode"
	"github.com/tailscale-gateway/tailscale-gateway/internal/proxy/standalone"
	"github.com/tailscale-gateway/tailscale-gateway/internal/version"
)

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	// Before the modes: `--pod --version` prints the version too.
	if versionRequested(args) {
		fmt.Println("tsgw-proxy", version.String())
		return 0
	}
	if podmode.Requested(args) {
		return podmode.Command(args)
	}
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	configPath := fs.String("config", "", "configuration file (YAML or JSON)")
	drain := fs.Duration("drain-timeout", 30*time.Second, "how long SIGTERM waits for connections to finish")
	debug := fs.Bool("debug", false, "log at debug level")
	pprofAddr := fs.String("pprof", "", "serve net/http/pprof on this address, e.g. 127.0.0.1:6060 (off by default)")
	fs.Bool("version", false, "print the version, commit and Go version, and exit")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *configPath == "" {
		fmt.Fprintln(os.Stderr, "proxy: --config is required")
		return 2
	}
	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	log.Info("tsgw-proxy starting", "version", version.Version, "commit", version.Commit, "go", runtime.Version())

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	reload := make(chan struct{}, 1)
	go func() {
		for range hup {
			select {
			case reload <- struct{}{}:
			default:
			}
		}
	}()

	loops, restore := loopsWithSpareP()
	defer restore()

	err := standalone.Run(ctx, standalone.Options{ConfigPath: *configPath, Logger: log, Reload: reload, DrainTimeout: *drain,
		PprofAddress: *pprofAddr, EventLoops: loops})
	var cfgErr *standalone.ConfigError
	switch {
	case errors.As(err, &cfgErr):
		log.Error("refusing to start", "error", cfgErr.Err)
		return 2
	case err != nil:
		log.Error("stopped", "error", err)
		return 1
	}
	return 0
}

// versionRequested reports whether args ask for --version (in either mode,
// which parse their flags separately).
func versionRequested(args []string) bool {
	return slices.ContainsFunc(args, func(a string) bool {
		return a == "--version" || a == "-version" || a == "--version=true" || a == "-version=true"
	})
}

// loopsWithSpareP runs one event loop per P the runtime chose (it follows
// the CPU limit, or $GOMAXPROCS) and raises GOMAXPROCS by one, so that the
// loops asleep in epoll_wait keep their Ps (proxy.Options.EventLoops).
// restore puts GOMAXPROCS back.
func loopsWithSpareP() (loops int, restore func()) {
	loops = runtime.GOMAXPROCS(0)
	runtime.GOMAXPROCS(loops + 1)
	return loops, func() { runtime.GOMAXPROCS(loops) }
}

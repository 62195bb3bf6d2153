// Package standalone runs tsgw-proxy from a configuration file on plain TCP:
// it applies the file, reloads it on demand (SIGHUP) and when its content
// changes, serves the admin endpoints, and drains on shutdown. Pod mode
// (tsnet listeners, a ConfigMap source) is a sibling of this package.
package standalone

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/tailscale-gateway/tailscale-gateway/internal/proxy"
	"github.com/tailscale-gateway/tailscale-gateway/internal/proxy/admin"
	"github.com/tailscale-gateway/tailscale-gateway/internal/proxyconfig"
)

// Options configure Run.
type Options struct {
	ConfigPath string
	Logger     *slog.Logger
	// Reload requests a reload (the caller wires SIGHUP to it).
	Reload <-chan struct{}
	// PollInterval is how often the file is checked for changes. Default 1s.
	PollInterval time.Duration
	// DrainTimeout bounds the wait for connections on shutdown. Default 30s.
	DrainTimeout time.Duration
	// Ready, if set, is called once the first configuration is serving.
	Ready func(admin net.Addr)
	// PprofAddress, if set, serves net/http/pprof under /debug/pprof/ on its
	// own listener (keep it on loopback: profiles reveal internals) and turns
	// on mutex and block profiling at a low sampling rate. Off by default.
	PprofAddress string
	// EventLoops is proxy.Options.EventLoops: 0 runs one per P.
	EventLoops int
}

// ConfigError is a configuration refused at start.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return "invalid configuration: " + e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// Run serves until ctx is cancelled, then drains. A configuration that
// cannot be loaded at start is returned as a *ConfigError.
func Run(ctx context.Context, opts Options) error {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	if opts.DrainTimeout <= 0 {
		opts.DrainTimeout = 30 * time.Second
	}
	log := opts.Logger
	data, cfg, err := load(opts.ConfigPath)
	if err != nil {
		return &ConfigError{Err: err}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	engine, err := proxy.New(proxy.Options{Registry: reg, Logger: log, EventLoops: opts.EventLoops})
	if err != nil {
		return err
	}
	if err := engine.Apply(ctx, cfg); err != nil {
		return &ConfigError{Err: err}
	}
	if opts.PprofAddress != "" {
		stopPprof, addr, err := servePprof(opts.PprofAddress, log)
		if err != nil {
			return err
		}
		defer stopPprof()
		log.Info("serving pprof", "address", addr.String())
	}
	var adminAddr net.Addr
	if cfg.Admin != nil {
		stopAdmin, addr, err := admin.Serve(cfg.Admin.Address, engine.Alive, engine.Ready, reg, log)
		if err != nil {
			return err
		}
		defer stopAdmin()
		adminAddr = addr
	}
	log.Info("serving", "config", opts.ConfigPath, "listeners", len(cfg.Listeners), "services", len(cfg.Services))
	if opts.Ready != nil {
		opts.Ready(adminAddr)
	}

	w := &watcher{path: opts.ConfigPath, last: data, engine: engine, log: log}
	poll := time.NewTicker(opts.PollInterval)
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return drain(engine, opts.DrainTimeout, log)
		case <-opts.Reload:
			w.reload(ctx, true)
		case <-poll.C:
			w.reload(ctx, false)
		}
	}
}

func load(path string) ([]byte, *proxyconfig.Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := parse(data)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return data, cfg, nil
}

// errEmptyFile refuses a file with nothing in it: what a poll sees while an
// editor or a script rewrites the file in place, which must not stop
// every listener.
var errEmptyFile = errors.New("the file is empty (caught while being rewritten?); replace it whole, by renaming a complete file into place")

// parse accepts what standalone mode can serve: no tailnet.
func parse(data []byte) (*proxyconfig.Config, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errEmptyFile
	}
	cfg, err := proxyconfig.Parse(data)
	if err != nil {
		return nil, err
	}
	if cfg.Tailnet != nil {
		return nil, &proxyconfig.FieldError{Path: "tailnet", Reason: "not supported in standalone mode"}
	}
	return cfg, nil
}

// watcher applies the file when asked or when its content changed. Content,
// not mtime, is compared: ConfigMap volumes swap symlinks and editors may
// keep mtimes.
type watcher struct {
	path   string
	last   []byte
	engine *proxy.Engine
	log    *slog.Logger
}

func (w *watcher) reload(ctx context.Context, forced bool) {
	data, err := os.ReadFile(w.path)
	if err != nil {
		w.log.Error("reload failed; keeping the running configuration", "config", w.path, "error", err)
		return
	}
	if !forced && bytes.Equal(data, w.last) {
		return
	}
	w.last = data // a bad file is reported once, not every poll
	cfg, err := parse(data)
	if err == nil {
		err = w.engine.Apply(ctx, cfg)
	}
	if err != nil {
		w.log.Error("reload refused; keeping the running configuration", "config", w.path, "error", err)
		return
	}
	w.log.Info("configuration reloaded", "config", w.path, "listeners", len(cfg.Listeners), "services", len(cfg.Services))
}

func drain(engine *proxy.Engine, timeout time.Duration, log *slog.Logger) error {
	log.Info("draining", "timeout", timeout)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := engine.Shutdown(ctx); err != nil {
		log.Warn("drain deadline reached; remaining connections closed", "error", err)
		return nil
	}
	log.Info("drained")
	return nil
}

// Sampling of the mutex and block profiles while pprof is served: one
// contention event in pprofMutexFraction, and blocking events about once per
// pprofBlockRate of time blocked. Low enough to leave on under load.
const (
	pprofMutexFraction = 20
	pprofBlockRate     = 100 * time.Microsecond
)

// servePprof serves the runtime profiles (CPU, heap, goroutine, mutex,
// block, trace) under /debug/pprof/. It is a separate listener, not a path on
// the admin mux, so that profiling can be enabled on loopback only while the
// admin endpoint is reachable by the cluster.
func servePprof(addr string, log *slog.Logger) (func(), net.Addr, error) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("pprof listener: %w", err)
	}
	prevMutex := runtime.SetMutexProfileFraction(pprofMutexFraction)
	runtime.SetBlockProfileRate(int(pprofBlockRate))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("pprof server stopped", "error", err)
		}
	}()
	return func() {
		srv.Close()
		runtime.SetMutexProfileFraction(prevMutex)
		runtime.SetBlockProfileRate(0)
	}, ln.Addr(), nil
}

// Package admin is tsgw-proxy's operational HTTP endpoint, the same in
// standalone and pod mode: /healthz (the data plane still runs), /readyz
// (ready says so) and /metrics (Prometheus).
package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// aliveTimeout bounds the liveness check, within the probe's one-second
// timeout.
const aliveTimeout = 800 * time.Millisecond

// Serve listens on addr and serves until stop is called. /healthz asks
// alive (the data plane still runs), /readyz asks ready.
func Serve(addr string, alive func(context.Context) error, ready func() bool, reg *prometheus.Registry, log *slog.Logger) (stop func(), _ net.Addr, _ error) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), aliveTimeout)
		defer cancel()
		if err := alive(ctx); err != nil {
			log.Warn("liveness check failed", "error", err)
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !ready() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("admin listener: %w", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("admin server stopped", "error", err)
		}
	}()
	return func() { srv.Close() }, ln.Addr(), nil
}

// Package admin is tsgw-proxy's operational HTTP endpoint: /healthz (the
// data plane still runs), /readyz (ready says so) and /metrics
// (Prometheus). In standalone mode all three are served plainly on one
// address; in pod mode /metrics is served apart, over HTTPS behind a
// filter that asks the API server who calls and whether they may
// (ServeMetrics), while the kubelet's probes stay plain.
package admin

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	certutil "k8s.io/client-go/util/cert"
)

// aliveTimeout bounds the liveness check, within the probe's one-second
// timeout.
const aliveTimeout = 800 * time.Millisecond

// Serve listens on addr and serves until stop is called. /healthz asks
// alive (the data plane still runs), /readyz asks ready; /metrics is
// served from reg, unless reg is nil (served elsewhere: ServeMetrics).
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
	if reg != nil {
		mux.Handle("GET /metrics", metricsHandler(reg))
	}
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

func metricsHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}

// Filter wraps the metrics handler: controller-runtime's
// filters.WithAuthenticationAndAuthorization, bound to a log.
type Filter func(http.Handler) (http.Handler, error)

// ServeMetrics serves /metrics from reg on addr over HTTPS, with a
// self-signed certificate (as controller-runtime's metrics server does
// when it is given none: the point is encryption, not the server's
// identity), every request passing through filter first. It serves
// nothing else. controller-runtime's server itself is not used because
// it only serves its own global registry, not the proxy's.
func ServeMetrics(addr string, reg *prometheus.Registry, filter Filter, log *slog.Logger) (stop func(), _ net.Addr, _ error) {
	if filter == nil {
		return nil, nil, errors.New("metrics listener: no authentication and authorisation filter")
	}
	h, err := filter(metricsHandler(reg))
	if err != nil {
		return nil, nil, fmt.Errorf("metrics filter: %w", err)
	}
	cert, key, err := certutil.GenerateSelfSignedCertKeyWithFixtures("localhost", []net.IP{{127, 0, 0, 1}}, nil, "")
	if err != nil {
		return nil, nil, fmt.Errorf("self-signed metrics certificate: %w", err)
	}
	pair, err := tls.X509KeyPair(cert, key)
	if err != nil {
		return nil, nil, fmt.Errorf("self-signed metrics certificate: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("metrics listener: %w", err)
	}
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair}},
		// Failed handshakes (a scraper speaking plain HTTP) are not errors.
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	go func() {
		if err := srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server stopped", "error", err)
		}
	}()
	return func() { srv.Close() }, ln.Addr(), nil
}

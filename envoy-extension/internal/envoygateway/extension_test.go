package envoygateway

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc/credentials/insecure"
	"k8s.io/client-go/rest"

	"github.com/tailscale-gateway/tailscale-gateway/envoy-extension/internal/routewarn"
	"github.com/tailscale-gateway/tailscale-gateway/envoy-extension/internal/server"
)

// extensionServer is this module's extension server, in process, on a
// fixed 127.0.0.1 address (Envoy Gateway's config names it), which the
// test can take down and bring back.
type extensionServer struct {
	t       *testing.T
	address string
	ext     *server.Extension
	srv     *server.Server
	served  chan error
}

// startExtension serves the extension in plain text, reading HTTPRoutes
// with cfg, as `envoy-extension --listen=127.0.0.1:0 --kubeconfig=…` would;
// its JSON log goes to a file printed if the test fails.
func startExtension(t *testing.T, cfg *rest.Config) *extensionServer {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "envoy-extension.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = logFile.Close()
		if t.Failed() {
			t.Logf("the extension's log (%s), last lines:\n%s", logPath, tail(logPath, 40))
		}
	})
	routes, err := server.NewRouteReader(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ext, err := server.NewExtension("cluster.local", routes, slog.New(slog.NewJSONHandler(logFile, &slog.HandlerOptions{Level: slog.LevelDebug, AddSource: false})))
	if err != nil {
		t.Fatal(err)
	}
	e := &extensionServer{t: t, address: "127.0.0.1:0", ext: ext}
	e.start()
	t.Cleanup(e.stop)
	return e
}

// start serves on e.address; the first time, on a port of the kernel's
// choosing, kept for later starts.
func (e *extensionServer) start() {
	e.t.Helper()
	lis, err := net.Listen("tcp", e.address)
	if err != nil {
		e.t.Fatalf("extension server: %v", err)
	}
	e.address = lis.Addr().String()
	e.srv = server.NewServer(e.ext, insecure.NewCredentials())
	e.served = make(chan error, 1)
	go func() { e.served <- e.srv.Serve(lis) }()
}

// stop closes the listener and every connection, as a crashed or
// unreachable extension would; calls in flight get 2 seconds.
func (e *extensionServer) stop() {
	if e.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	e.srv.Stop(ctx)
	if err := <-e.served; err != nil {
		e.t.Errorf("extension server: %v", err)
	}
	e.srv = nil
}

// port is the port of e.address.
func (e *extensionServer) port() string {
	_, port, err := net.SplitHostPort(e.address)
	if err != nil {
		e.t.Fatal(err)
	}
	return port
}

// warnRoutes runs the extension's route watcher (routewarn, which the
// command runs beside the hooks) with cfg until the test ends; its JSON
// log is printed if the test fails.
func warnRoutes(t *testing.T, cfg *rest.Config) {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "routewarn.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	ran := make(chan error, 1)
	go func() { ran <- routewarn.Run(ctx, cfg, slog.New(slog.NewJSONHandler(logFile, nil))) }()
	t.Cleanup(func() {
		cancel()
		if err := <-ran; err != nil {
			t.Errorf("routewarn.Run: %v", err)
		}
		_ = logFile.Close()
		if t.Failed() {
			t.Logf("the route watcher's log (%s), last lines:\n%s", logPath, tail(logPath, 40))
		}
	})
}

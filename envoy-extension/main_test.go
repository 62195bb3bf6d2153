package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/envoyproxy/gateway/proto/extension"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// plainText serves without TLS and without route lookups.
var plainText = serveOptions{clusterDomain: "cluster.local", creds: insecure.NewCredentials(), transport: "plaintext"}

func TestRunServesUntilCancelled(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- run(ctx, lis, nil, plainText, quiet) }()

	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	resp, err := healthpb.NewHealthClient(conn).Check(t.Context(), &healthpb.HealthCheckRequest{
		Service: extension.EnvoyGatewayExtension_ServiceDesc.ServiceName,
	})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health Check = %v, %v; want SERVING", resp, err)
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("run returned %v after its context ended, want nil", err)
	}
}

func TestRunRefusesABadClusterDomain(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	err = run(t.Context(), lis, nil, serveOptions{clusterDomain: "Cluster.Local", creds: insecure.NewCredentials()}, quiet)
	if err == nil || !strings.Contains(err.Error(), "--cluster-domain") {
		t.Errorf("run = %v, want an error naming --cluster-domain", err)
	}
}

func TestListenAndRunRefusesABadAddress(t *testing.T) {
	if err := listenAndRun(t.Context(), "127.0.0.1:not-a-port", "", plainText, quiet); err == nil {
		t.Error("listenAndRun accepted address 127.0.0.1:not-a-port")
	}
}

func TestParseFlagsWarnsAboutRoutesByDefault(t *testing.T) {
	for args, want := range map[string]bool{"": true, "--warn-unsupported-routes=false": false} {
		opts, err := parseFlags("envoy-extension", strings.Fields(args))
		if err != nil || opts.warnRoutes != want {
			t.Errorf("parseFlags(%q): warnRoutes %v, error %v; want %v", args, opts.warnRoutes, err, want)
		}
	}
}

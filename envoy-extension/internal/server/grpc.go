package server

import (
	"context"
	"net"

	"github.com/envoyproxy/gateway/proto/extension"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// Server is the gRPC server: the extension service and the standard health
// service, which answers SERVING for "" and for the extension's service name
// until Stop. The health service can also be served alone, in plain text,
// on a second listener (ServeHealth).
type Server struct {
	grpc   *grpc.Server
	probes *grpc.Server // the health service only
	health *health.Server
}

// NewServer returns a server of ext, not yet serving, whose connections use
// creds: TLS, or insecure.NewCredentials() for plain text.
func NewServer(ext extension.EnvoyGatewayExtensionServer, creds credentials.TransportCredentials) *Server {
	s := &Server{grpc: grpc.NewServer(grpc.Creds(creds)), probes: grpc.NewServer(), health: health.NewServer()}
	extension.RegisterEnvoyGatewayExtensionServer(s.grpc, ext)
	healthpb.RegisterHealthServer(s.grpc, s.health)
	healthpb.RegisterHealthServer(s.probes, s.health)
	s.health.SetServingStatus(extension.EnvoyGatewayExtension_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	return s
}

// Serve serves lis until Stop, and then returns nil.
func (s *Server) Serve(lis net.Listener) error { return s.grpc.Serve(lis) }

// ServeHealth serves only the health service on lis, in plain text, until
// Stop, and then returns nil. It is for the kubelet's gRPC probes, which
// cannot use TLS; the health service tells nothing but SERVING or
// NOT_SERVING.
func (s *Server) ServeHealth(lis net.Listener) error { return s.probes.Serve(lis) }

// Stop reports NOT_SERVING, then lets the calls in flight finish; if ctx
// ends first it closes every connection at once.
func (s *Server) Stop(ctx context.Context) {
	s.health.Shutdown()
	stopped := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		s.probes.GracefulStop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-ctx.Done():
		s.grpc.Stop()
		s.probes.Stop()
		<-stopped
	}
}

package server

import (
	"context"
	"net"

	"github.com/envoyproxy/gateway/proto/extension"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// Server is the gRPC server: the extension service and the standard health
// service, which answers SERVING for "" and for the extension's service name
// until Stop.
type Server struct {
	grpc   *grpc.Server
	health *health.Server
}

// NewServer returns a server of ext, not yet serving.
func NewServer(ext extension.EnvoyGatewayExtensionServer) *Server {
	s := &Server{grpc: grpc.NewServer(), health: health.NewServer()}
	extension.RegisterEnvoyGatewayExtensionServer(s.grpc, ext)
	healthpb.RegisterHealthServer(s.grpc, s.health)
	s.health.SetServingStatus(extension.EnvoyGatewayExtension_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	return s
}

// Serve serves lis until Stop, and then returns nil.
func (s *Server) Serve(lis net.Listener) error { return s.grpc.Serve(lis) }

// Stop reports NOT_SERVING, then lets the calls in flight finish; if ctx
// ends first it closes every connection at once.
func (s *Server) Stop(ctx context.Context) {
	s.health.Shutdown()
	stopped := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-ctx.Done():
		s.grpc.Stop()
		<-stopped
	}
}

package proxy

import (
	"context"
	"net"

	"github.com/tailscale-gateway/tailscale-gateway/internal/eventloop"
)

// backendDialer dials backends on the host network, the default DialFunc.
//
// Without TCP keep-alive: backend connections are short-lived or carry their
// own liveness (health checks, the service's idle timeout), and Go's default
// would cost four setsockopt(2) calls per connection, a tenth of the
// syscalls of a proxied connection. HAProxy (without option srvtcpka) and
// Envoy (without upstream tcp_keepalive) do not set it either. Client
// connections keep it (tcpListenConfig).
//
// eventloop.RawConnect (Linux) makes the connect(2) that carries the
// handshake a raw system call. Not Dialer.DialTCP, which would skip the resolver for IP
// literals: it binds the socket to its zero local address, one more call.
var backendDialer = net.Dialer{KeepAlive: -1, ControlContext: eventloop.RawConnect}

// dialBackendTCP is the default DialFunc.
func dialBackendTCP(ctx context.Context, network, address string) (net.Conn, error) {
	return backendDialer.DialContext(ctx, network, address)
}

// Package socks serves a loopback SOCKS5 proxy (RFC 1928, CONNECT, no
// authentication, IPv4, IPv6 and domain-name addresses) whose connections
// leave through a tailnet node, so that programs outside the tailnet
// (curl --socks5-hostname, browsers, tests) reach tailnet names.
//
// The protocol is Tailscale's own server (tailscale.com/net/socks5), the
// one tailscaled runs for --socks5-server; this package adds lifecycle:
// Close ends the listener and every connection it accepted.
package socks

import (
	"context"
	"errors"
	"net"
	"sync"

	"tailscale.com/net/socks5"
	"tailscale.com/types/logger"
)

// DialFunc opens a connection to a host:port; with a tsnet node's Dial,
// names resolve through MagicDNS, including VIP service names.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// Server is a running SOCKS5 proxy.
type Server struct {
	ln     *trackingListener
	served sync.WaitGroup
}

// Listen starts a SOCKS5 proxy on addr ("127.0.0.1:0" picks a port) that
// dials through dial.
func Listen(addr string, dial DialFunc, logf logger.Logf) (*Server, error) {
	inner, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{ln: &trackingListener{Listener: inner, conns: map[net.Conn]bool{}}}
	proxy := &socks5.Server{Logf: logf, Dialer: dial}
	s.served.Go(func() { proxy.Serve(s.ln) })
	return s, nil
}

// Addr is the proxy's host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops accepting and closes every client connection, which ends
// the goroutines socks5.Server started for them.
func (s *Server) Close() error {
	err := s.ln.Close()
	s.served.Wait()
	s.ln.closeAccepted()
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// trackingListener remembers accepted connections so Close can end them:
// socks5.Server has no shutdown of its own.
type trackingListener struct {
	net.Listener
	mu     sync.Mutex
	closed bool
	conns  map[net.Conn]bool
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		c.Close()
		return nil, net.ErrClosed
	}
	tc := &trackedConn{Conn: c, forget: l.forget}
	l.conns[tc] = true
	return tc, nil
}

func (l *trackingListener) forget(c net.Conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.conns, c)
}

func (l *trackingListener) closeAccepted() {
	l.mu.Lock()
	l.closed = true
	conns := make([]net.Conn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

// trackedConn leaves the listener's set when closed.
type trackedConn struct {
	net.Conn
	once   sync.Once
	forget func(net.Conn)
}

func (c *trackedConn) Close() error {
	c.once.Do(func() { c.forget(c) })
	return c.Conn.Close()
}

// Package socks serves a loopback SOCKS5 proxy (RFC 1928, CONNECT only, no
// authentication, IPv4, IPv6 and domain-name addresses) whose connections
// leave through a tailnet node, so that programs outside the tailnet
// (curl --socks5-hostname, browsers, tests) reach tailnet names, and
// nothing else.
//
// The protocol is github.com/things-go/go-socks5; this package adds the
// gate and the lifecycle. Every destination goes through Tailnet.Admit
// before anything is dialed: what it refuses (an address outside the
// tailnet, a name MagicDNS does not know, a command other than CONNECT) is
// answered with reply 2, "connection not allowed by ruleset", at once and
// logged. Names are never handed to the system resolver. Close ends the
// listener and every connection it accepted.
package socks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	socks5 "github.com/things-go/go-socks5"
	"github.com/things-go/go-socks5/statute"
	"tailscale.com/types/logger"
)

// Tailnet decides where the proxy may go and takes it there.
type Tailnet interface {
	// Admit returns the tailnet address host (an IP literal or a name)
	// stands for, or an error saying why the proxy must not go there.
	// It must not send anything off the machine to decide.
	Admit(ctx context.Context, host string) (netip.Addr, error)
	// DialTCP connects to an address Admit returned.
	DialTCP(ctx context.Context, dst netip.AddrPort) (net.Conn, error)
}

// dialTimeout bounds a CONNECT: a tailnet address whose host went away
// must fail the client (reply 4), not hang it.
const dialTimeout = 10 * time.Second

// Server is a running SOCKS5 proxy.
type Server struct {
	ln     *trackingListener
	served sync.WaitGroup
}

// Listen starts a SOCKS5 proxy on addr ("127.0.0.1:0" picks a port) that
// reaches only what tailnet admits.
func Listen(addr string, tailnet Tailnet, logf logger.Logf) (*Server, error) {
	inner, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{ln: &trackingListener{Listener: inner, conns: map[net.Conn]bool{}}}
	g := gate{tailnet: tailnet, logf: logf}
	proxy := socks5.NewServer(
		socks5.WithResolver(g),
		socks5.WithRule(g),
		socks5.WithDial(g.dial),
		socks5.WithLogger(quietLogger{}),
	)
	s.served.Go(func() { proxy.Serve(s.ln) })
	return s, nil
}

// Addr is the proxy's host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops accepting and closes every client connection, which ends
// the goroutines the SOCKS5 server started for them.
func (s *Server) Close() error {
	err := s.ln.Close()
	s.served.Wait()
	s.ln.closeAccepted()
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// gate is the proxy's resolver, rule set and dialer in one: a name is
// resolved by Tailnet.Admit (never by the system), and a request is
// allowed only when Admit accepted its destination.
type gate struct {
	tailnet Tailnet
	logf    logger.Logf
}

type verdictKey struct{}

// verdict is Admit's answer for a name, carried from Resolve to Allow.
type verdict struct {
	addr netip.Addr
	err  error
}

// Resolve asks Admit; a refusal is not an error here (that would be
// reply 4) but a verdict that Allow turns into reply 2.
func (g gate) Resolve(ctx context.Context, name string) (context.Context, net.IP, error) {
	addr, err := g.tailnet.Admit(ctx, name)
	ctx = context.WithValue(ctx, verdictKey{}, verdict{addr, err})
	if err != nil {
		return ctx, nil, nil
	}
	return ctx, addr.AsSlice(), nil
}

// Allow lets a CONNECT through to an admitted destination only.
func (g gate) Allow(ctx context.Context, req *socks5.Request) (context.Context, bool) {
	dst := req.RawDestAddr
	if req.Command != statute.CommandConnect {
		g.logf("lab socks5: refused command %d to %s: only CONNECT is served", req.Command, dst)
		return ctx, false
	}
	if err := g.admitted(ctx, dst); err != nil {
		g.logf("lab socks5: refused CONNECT to %s: %v", dst, err)
		return ctx, false
	}
	return ctx, true
}

func (g gate) admitted(ctx context.Context, dst *statute.AddrSpec) error {
	if dst.FQDN != "" {
		v, ok := ctx.Value(verdictKey{}).(verdict)
		if !ok {
			return fmt.Errorf("%s was not resolved through the tailnet", dst.FQDN)
		}
		return v.err
	}
	ip, ok := netip.AddrFromSlice(dst.IP)
	if !ok {
		return fmt.Errorf("no address")
	}
	_, err := g.tailnet.Admit(ctx, ip.Unmap().String())
	return err
}

// dial connects to the address Allow admitted; the server passes it as
// "ip:port" because Resolve filled in the address.
func (g gate) dial(ctx context.Context, _, addr string) (net.Conn, error) {
	dst, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, fmt.Errorf("lab socks5: dialing %q: not an admitted address", addr)
	}
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	return g.tailnet.DialTCP(ctx, netip.AddrPortFrom(dst.Addr().Unmap(), dst.Port()))
}

// quietLogger drops the library's per-connection errors (a client that
// hangs up, a refused request already logged by Allow).
type quietLogger struct{}

func (quietLogger) Errorf(string, ...any) {}

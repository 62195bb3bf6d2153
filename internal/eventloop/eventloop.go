// Package eventloop is tsgw-proxy's second data plane: on Linux, event
// loops, one per core, that carry host-network TCP connections from accept
// to close with non-blocking raw system calls, the way HAProxy and Envoy
// do (see Group). The engine (internal/proxy) owns the configuration, the
// balancers and the counters; the loops reach it only through Engine and
// Service, so that they can be tested without it.
package eventloop

import (
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/tailscale-gateway/tailscale-gateway/internal/lb"
)

// Engine is what the loops need from the engine that owns them.
type Engine interface {
	// Route returns the service that serves connections accepted on the
	// listener opened on address, with its settings at this moment; a nil
	// Service if a reload removed the listener's route.
	Route(address string) (Service, Settings)
	// HandOff serves a connection accepted on the listener opened on
	// address with goroutines: its service has backends given by name,
	// which the loops do not resolve. seq varies between connections.
	HandOff(address string, conn net.Conn, seq uint32)
	// Opened and Closed count the connections the loops carry; the
	// engine's shutdown waits for them.
	Opened()
	Closed()
	// SpliceBulk says whether bulk transfers go through splice(2). Tests and
	// benchmarks turn it off to compare.
	SpliceBulk() bool
}

// Settings are a service's settings that a connection keeps from its
// accept to its end.
type Settings struct {
	ConnectTimeout time.Duration
	IdleTimeout    time.Duration
	// IPBackends: every backend is an IP address on the host network, so
	// the loops can connect without resolving names or going through a
	// tailnet.
	IPBackends bool
}

// Service is one of the engine's services, as a connection sees it.
type Service interface {
	Name() string // for logs
	// Pick chooses the next backend to dial, each at most once per attempt
	// (lb.Balancer.Pick); nil when none is left. Done releases a backend
	// Pick returned.
	Pick(a *lb.Attempt) *lb.Member
	Done(m *lb.Member)
	// Counters returns the engine's handle on m's counters. A connection
	// looks it up once per dial and hands it back with each report, so it
	// keeps counting on the same counters whatever reloads happen.
	Counters(m *lb.Member) Counters
	// DialFailed counts a failed dial of m and tells outlier detection.
	DialFailed(m *lb.Member, c Counters, err error)
	// Established counts a connection to m that is up, and tells outlier
	// detection if it was failing.
	Established(m *lb.Member, c Counters)
	// Ended counts the end of an established connection and the bytes it
	// carried each way.
	Ended(c Counters, bytesUp, bytesDown int64)
	// Unserved counts a client refused because no backend could be dialed.
	Unserved()
}

// Counters is opaque to the loops: only the engine's Service reads it.
type Counters any

// Config is fixed for a Group's lifetime.
type Config struct {
	Loops  int // how many loops to run; each blocks a thread of its own
	Logger *slog.Logger
	// ListenerOptions sets options on every listening socket, which the
	// connections it accepts inherit (keep-alive).
	ListenerOptions func(fd int) error
}

// Listener is a listening socket served by the loops.
type Listener struct {
	fd      int
	addr    *net.TCPAddr
	address string // as given to Listen: the engine's route key
}

// Addr is the bound address.
func (l *Listener) Addr() net.Addr { return l.addr }

// IPLiteral parses a backend address that can be connected to without
// resolving a name: an IP address (without an IPv6 zone) and a port. The
// loops connect only to those.
func IPLiteral(address string) (netip.AddrPort, bool) {
	ap, err := netip.ParseAddrPort(address)
	return ap, err == nil && ap.Addr().Zone() == ""
}

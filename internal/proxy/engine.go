// Package proxy is the forwarding engine of tsgw-proxy: it accepts
// connections on listeners, picks a backend per connection with internal/lb,
// dials it (retrying other backends when a dial fails, or when a hop, another
// proxy, closes before answering: see hop.go), and copies bytes both ways.
// Health comes from internal/health. Listening and dialing are pluggable so
// that the same engine serves plain TCP (standalone mode) and tsnet (pod
// mode).
package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/utils/clock"

	"github.com/tailscale-gateway/tailscale-gateway/internal/eventloop"
	"github.com/tailscale-gateway/tailscale-gateway/internal/lb"
	"github.com/tailscale-gateway/tailscale-gateway/internal/proxyconfig"
)

// DialFunc opens a connection to a backend; net.Dialer.DialContext and
// tsnet's Server.Dial fit. Health checks use the same function.
type DialFunc func(ctx context.Context, network, address string) (net.Conn, error)

// ListenFunc opens the listener for one configured listener, e.g. a TCP
// socket or a tsnet service listener.
type ListenFunc func(ctx context.Context, l proxyconfig.Listener) (net.Listener, error)

// Options are fixed for an Engine's lifetime.
type Options struct {
	Dial   DialFunc   // nil: TCP on the host network (dialBackendTCP)
	Listen ListenFunc // nil: TCP on the listener's address
	// Registry, if set, receives the engine's Prometheus collector.
	Registry prometheus.Registerer
	Logger   *slog.Logger               // nil: slog.Default()
	Clock    clock.WithDelayedExecution // nil: the real clock
	// OnSwitch, if set, hears every failover switch. It is called with
	// internal locks held and must not call back into the Engine.
	OnSwitch func(service string, sw lb.Switch)
	// HealthJitter spreads health checks (fraction of the interval). Default 0.1.
	HealthJitter float64
	// GoroutinesPerConnection serves host-network listeners with goroutines
	// per connection, as tailnet listeners always are, instead of the event
	// loops (Linux, default Dial and Listen only; see internal/eventloop). For
	// tests, which run the engine both ways.
	GoroutinesPerConnection bool
	// EventLoops is how many event loops to run; 0: GOMAXPROCS. Each loop
	// blocks a thread of its own in epoll_wait, and keeps its P while it
	// does only if another P is idle, so a program that cares for latency
	// runs GOMAXPROCS one above this (cmd/proxy does).
	EventLoops int
}

// Engine forwards connections for a set of services. Configuration is
// swapped atomically by Apply; established connections are never touched by a
// swap, only by Shutdown.
type Engine struct {
	opts Options

	applyMu   sync.Mutex // serializes Apply and Shutdown
	services  atomic.Pointer[map[string]*service]
	routes    atomic.Pointer[map[string]string] // ListenerKey → service
	listeners map[string]*listener              // guarded by applyMu
	applied   atomic.Bool
	draining  atomic.Bool

	conns connSet    // client connections, for draining
	loops eventLoops // nil: every connection gets goroutines
}

type listener struct {
	address string              // ListenerKey; routes are keyed by it
	ln      net.Listener        // served by accept, or
	ll      *eventloop.Listener // served by the event loops
	done    chan struct{}
	accepts uint32 // connections accepted; spreads them over connSet shards
}

// New returns an Engine with no configuration; call Apply.
func New(opts Options) (*Engine, error) {
	hostOnly := opts.Dial == nil && opts.Listen == nil
	if opts.Dial == nil {
		opts.Dial = dialBackendTCP
	}
	if opts.Listen == nil {
		opts.Listen = listenTCP
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.HealthJitter == 0 {
		opts.HealthJitter = 0.1
	}
	e := &Engine{opts: opts, listeners: map[string]*listener{}}
	e.conns.init()
	noServices, noRoutes := map[string]*service{}, map[string]string{}
	e.services.Store(&noServices)
	e.routes.Store(&noRoutes)
	if opts.Registry != nil {
		if err := opts.Registry.Register(&collector{e: e}); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	if hostOnly && !opts.GoroutinesPerConnection {
		loops, err := newEventLoops(e)
		if err != nil {
			opts.Logger.Warn("cannot start event loops; serving every connection with goroutines", "error", err)
		}
		e.loops = loops
	}
	return e, nil
}

// eventLoopCount is how many event loops New starts.
func (e *Engine) eventLoopCount() int {
	if e.opts.EventLoops > 0 {
		return e.opts.EventLoops
	}
	return max(1, runtime.GOMAXPROCS(0))
}

// Apply swaps in a validated configuration. New listeners are opened first;
// if one cannot be opened nothing changes and the error is returned.
// Services keep their health, counters and failover state by name.
func (e *Engine) Apply(ctx context.Context, cfg *proxyconfig.Config) error {
	e.applyMu.Lock()
	defer e.applyMu.Unlock()
	if e.draining.Load() {
		return errors.New("engine is shutting down")
	}
	plans := make(map[string]*plan, len(cfg.Services))
	for i := range cfg.Services {
		p, err := planService(&cfg.Services[i], e.opts.HealthJitter)
		if err != nil {
			return fmt.Errorf("services[%d]: %w", i, err)
		}
		for _, err := range p.leftOut {
			e.opts.Logger.Warn("backend left out of its service", "service", cfg.Services[i].Name, "error", err)
		}
		plans[cfg.Services[i].Name] = p
	}
	opened, err := e.openListeners(ctx, cfg.Listeners)
	if err != nil {
		return err
	}
	e.swapServices(plans)
	routes := make(map[string]string, len(cfg.Listeners))
	for _, l := range cfg.Listeners {
		routes[ListenerKey(l)] = l.Service
	}
	e.routes.Store(&routes)
	for key, l := range opened {
		e.listeners[key] = l
		e.startAccepting(l)
	}
	for key, l := range e.listeners {
		if _, keep := routes[key]; !keep {
			e.stopAccepting(l)
			delete(e.listeners, key)
		}
	}
	e.applied.Store(true)
	return nil
}

func (e *Engine) openListeners(ctx context.Context, want []proxyconfig.Listener) (map[string]*listener, error) {
	opened := map[string]*listener{}
	for _, l := range want {
		key := ListenerKey(l)
		if e.listeners[key] != nil {
			continue
		}
		nl, err := e.listen(ctx, l)
		if err != nil {
			for _, o := range opened {
				e.discard(o)
			}
			return nil, fmt.Errorf("listen on %s: %w", l.Address, err)
		}
		nl.address = key
		opened[key] = nl
	}
	return opened, nil
}

// listen opens a listener: on the event loops if there are any and the
// listener is on the host network.
func (e *Engine) listen(ctx context.Context, l proxyconfig.Listener) (*listener, error) {
	if e.loops != nil && (l.Network == "" || l.Network == proxyconfig.NetworkTCP) {
		ll, err := e.loops.Listen(l.Address) // l.Address is the route key
		if err != nil {
			return nil, err
		}
		return &listener{ll: ll}, nil
	}
	ln, err := e.opts.Listen(ctx, l)
	if err != nil {
		return nil, err
	}
	return &listener{ln: ln, done: make(chan struct{})}, nil
}

func (e *Engine) startAccepting(l *listener) {
	if l.ll == nil {
		go e.accept(l)
		return
	}
	if err := e.loops.Serve(l.ll); err != nil {
		// Only epoll_ctl can fail here, for want of kernel memory.
		e.opts.Logger.Error("cannot accept on listener", "listener", l.address, "error", err)
	}
}

// stopAccepting closes l; connections it accepted go on.
func (e *Engine) stopAccepting(l *listener) {
	if l.ll != nil {
		e.loops.Unserve(l.ll)
		return
	}
	l.ln.Close()
	<-l.done
}

// discard closes a listener that never served.
func (e *Engine) discard(l *listener) {
	if l.ll != nil {
		e.loops.Unserve(l.ll)
		return
	}
	l.ln.Close()
}

func (l *listener) addr() net.Addr {
	if l.ll != nil {
		return l.ll.Addr()
	}
	return l.ln.Addr()
}

func (e *Engine) swapServices(plans map[string]*plan) {
	old := *e.services.Load()
	next := make(map[string]*service, len(plans))
	for name, p := range plans {
		s := old[name]
		if s == nil {
			s = newService(name, &e.opts)
		}
		s.apply(p)
		next[name] = s
	}
	e.services.Store(&next)
	for name, s := range old {
		if next[name] == nil {
			// Connections in flight keep their *service; closing only stops
			// its health checks and timers.
			s.close()
		}
	}
}

// ListenerKey identifies a listener across configurations: its address on
// the host's network, and network, VIP service and address otherwise (a
// pool port and a VIP service port share a number on one tailnet node).
func ListenerKey(l proxyconfig.Listener) string {
	if l.Network == "" || l.Network == proxyconfig.NetworkTCP {
		return l.Address
	}
	return l.Network + "|" + l.VIPService + "|" + l.Address
}

// Addr returns the bound address of the listener whose ListenerKey is
// address (for a host-network listener, its configured address; useful
// with port 0), or nil.
func (e *Engine) Addr(address string) net.Addr {
	e.applyMu.Lock()
	defer e.applyMu.Unlock()
	if l := e.listeners[address]; l != nil {
		return l.addr()
	}
	return nil
}

// Ready reports whether a configuration is serving and no drain has begun.
func (e *Engine) Ready() bool { return e.applied.Load() && !e.draining.Load() }

// Alive fails when the engine can no longer serve connections: an event
// loop that stopped or does not answer within ctx. The liveness probe
// asks it; readiness (Ready) is about configuration, not this.
func (e *Engine) Alive(ctx context.Context) error {
	if e.loops == nil {
		return nil // goroutines per connection: the runtime schedules them
	}
	return e.loops.Ping(ctx)
}

// Stats snapshots every service's counters and health, sorted by name.
func (e *Engine) Stats() []ServiceStats {
	services := *e.services.Load()
	out := make([]ServiceStats, 0, len(services))
	for _, s := range services {
		out = append(out, s.stats())
	}
	sortServices(out)
	return out
}

// Shutdown stops accepting, waits for active connections to finish until
// ctx is done, then closes the rest. It returns ctx's error if it had to cut
// connections.
func (e *Engine) Shutdown(ctx context.Context) error {
	e.applyMu.Lock()
	e.draining.Store(true)
	for key, l := range e.listeners {
		e.stopAccepting(l)
		delete(e.listeners, key)
	}
	e.applyMu.Unlock()

	drained := make(chan struct{})
	go func() {
		e.conns.wait()
		close(drained)
	}()
	var err error
	select {
	case <-drained:
	case <-ctx.Done():
		err = ctx.Err()
		e.conns.stop()
		if e.loops != nil {
			e.loops.AbortAll()
		}
		<-drained
	}
	e.conns.stop()
	if e.loops != nil {
		e.loops.Close()
	}
	for _, s := range *e.services.Load() {
		s.close()
	}
	return err
}

// listenTCP is the default ListenFunc: host TCP sockets only.
func listenTCP(ctx context.Context, l proxyconfig.Listener) (net.Listener, error) {
	if l.Network != "" && l.Network != proxyconfig.NetworkTCP {
		return nil, fmt.Errorf("network %q needs a tailnet listener (pod mode)", l.Network)
	}
	return tcpListenConfig.Listen(ctx, "tcp", l.Address)
}

// TCP keep-alive of client connections: Go's defaults for dialed and
// accepted connections (net.KeepAliveConfig).
const (
	keepAliveIdle     = 15 * time.Second
	keepAliveInterval = 15 * time.Second
	keepAliveCount    = 9
)

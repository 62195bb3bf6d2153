package lab

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"sync"
	"time"

	"tailscale.com/logtail"
	"tailscale.com/tailcfg"
	"tailscale.com/tsnet"
	"tailscale.com/tstest/integration/testcontrol"
	"tailscale.com/types/logger"

	"github.com/tailscale-gateway/tailscale-gateway/internal/lab/socks"
)

// DefaultDomain is the lab's MagicDNS domain unless Options.Domain says otherwise.
const DefaultDomain = "tailnet-lab.ts.net"

// SOCKS5Hostname is the hostname of the lab node the SOCKS5 proxy dials through.
const SOCKS5Hostname = "lab-socks5"

// Options configures a lab.
type Options struct {
	// Domain is the MagicDNS domain; DefaultDomain if empty.
	Domain string
	// ControlAddr is where control listens; "127.0.0.1:0" if empty.
	ControlAddr string
	// RelayIP is the IPv4 address the DERP relay and the STUN server
	// listen on and the DERP map names; 127.0.0.1 if empty. Nodes outside
	// this host's network namespace (pods on a node's bridge) need an
	// address they can reach, such as the bridge's.
	RelayIP string
	// SOCKS5Addr is where the SOCKS5 proxy listens; "127.0.0.1:0" if empty.
	SOCKS5Addr string
	// NoSOCKS5 skips the SOCKS5 proxy and its client node.
	NoSOCKS5 bool
	// StateDir holds the state of nodes made by NewNode; if empty, a
	// temporary directory that Close removes.
	StateDir string
	// Services, if set, is routed from the start; see also RouteServices.
	Services ServiceSource
	// AuthKeys, if set, admits (or refuses) the auth keys given to NewNode.
	AuthKeys AuthKeys
	// TagOwners is passed to testcontrol (see its doc): it governs which
	// tag changes a node may request after it joined.
	TagOwners map[string][]string
	// SyncInterval is how often the router re-checks everything even
	// without a change notification; 500ms if zero.
	SyncInterval time.Duration
	// Logf receives the lab's and its nodes' logs; discarded if nil.
	Logf logger.Logf
}

// Lab is a running in-process tailnet. Its methods are safe for concurrent use.
type Lab struct {
	opts     Options
	domain   string
	stateDir string
	ownsDir  bool

	relay       *relay
	control     *testcontrol.Server
	controlHTTP *httptest.Server
	sessions    *sessions
	router      *router
	stopRouter  context.CancelFunc
	routerDone  sync.WaitGroup
	socks       *socks.Server

	mu       sync.Mutex
	authKeys AuthKeys
	nodes    []*tsnet.Server
	closed   bool
}

// Start runs a lab tailnet until Close. ctx bounds only the start-up.
func Start(ctx context.Context, opts Options) (_ *Lab, err error) {
	l := &Lab{opts: opts, domain: opts.Domain, authKeys: opts.AuthKeys}
	if l.domain == "" {
		l.domain = DefaultDomain
	}
	if l.opts.Logf == nil {
		l.opts.Logf = logger.Discard
	}
	// The lab is offline: never try to upload node logs to Tailscale.
	logtail.Disable()
	acquireLoopbackNetns()
	defer func() {
		if err != nil {
			l.Close()
		}
	}()
	if err := l.startTailnet(); err != nil {
		return nil, err
	}
	if opts.Services != nil {
		l.RouteServices(opts.Services)
	}
	if !opts.NoSOCKS5 {
		if err := l.startSOCKS5(ctx); err != nil {
			return nil, err
		}
	}
	return l, nil
}

func (l *Lab) startTailnet() error {
	if err := l.makeStateDir(); err != nil {
		return err
	}
	relay, err := startRelay(l.opts.RelayIP, l.opts.Logf)
	if err != nil {
		return err
	}
	l.relay = relay
	interval := l.opts.SyncInterval
	if interval == 0 {
		interval = 500 * time.Millisecond
	}
	// Sessions wake the router on every map poll, through a channel both
	// share because control (which the router drives) needs sessions first.
	wake := make(chan struct{}, 1)
	l.sessions = newSessions(func() { poke(wake) })
	l.control = newControl(l.domain, relay.derpMap, l.opts.TagOwners, l.sessions, l.opts.Logf)
	if l.router, err = newRouter(l.control, l.sessions, wake, l.domain, interval, l.opts.Logf); err != nil {
		return err
	}
	addr := l.opts.ControlAddr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	if l.controlHTTP, err = serveControl(l.control, addr, l.opts.Logf); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	l.stopRouter = cancel
	l.routerDone.Go(func() { l.router.run(ctx) })
	return nil
}

func (l *Lab) makeStateDir() error {
	if l.opts.StateDir != "" {
		l.stateDir = l.opts.StateDir
		return os.MkdirAll(l.stateDir, 0o700)
	}
	dir, err := os.MkdirTemp("", "tsgw-lab-")
	if err != nil {
		return fmt.Errorf("making lab state dir: %w", err)
	}
	l.stateDir, l.ownsDir = dir, true
	return nil
}

// RouteServices makes the lab route the VIP services of src (replacing any
// earlier source). Call it after creating the API emulator with the lab as
// its Tailnet: l.RouteServices(FromEmulator(emu)).
func (l *Lab) RouteServices(src ServiceSource) { l.router.setSource(src) }

// ControlURL is the coordination server URL nodes use (tsnet.Server.ControlURL,
// tailscale up --login-server).
func (l *Lab) ControlURL() string { return l.controlHTTP.URL }

// Domain is the MagicDNS domain, e.g. "tailnet-lab.ts.net".
func (l *Lab) Domain() string { return l.domain }

// DERPMap is the lab's DERP map (one region on loopback).
func (l *Lab) DERPMap() *tailcfg.DERPMap { return l.relay.derpMap.Clone() }

// SOCKS5Addr is the SOCKS5 proxy's host:port ("" with Options.NoSOCKS5).
// Use it as socks5h://<addr> so that names resolve inside the tailnet.
func (l *Lab) SOCKS5Addr() string {
	if l.socks == nil {
		return ""
	}
	return l.socks.Addr()
}

// ServiceHost returns the stable node ID of the node currently hosting a
// VIP service ("svc:demo"), if any.
func (l *Lab) ServiceHost(service string) (tailcfg.StableNodeID, bool) {
	return l.router.primary(service)
}

// Control exposes the underlying testcontrol server, for tests that need
// to reach past the lab.
func (l *Lab) Control() *testcontrol.Server { return l.control }

// Close stops the SOCKS5 proxy, every node made by NewNode, the router,
// control, DERP and STUN, and removes the temporary state directory.
func (l *Lab) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	nodes := l.nodes
	l.mu.Unlock()

	var errs []error
	if l.socks != nil {
		errs = append(errs, l.socks.Close())
	}
	closeNodes(nodes)
	if l.stopRouter != nil {
		l.stopRouter()
		l.routerDone.Wait()
	}
	if l.controlHTTP != nil {
		l.controlHTTP.CloseClientConnections()
		l.controlHTTP.Close()
	}
	if l.relay != nil {
		l.relay.close()
	}
	if l.ownsDir {
		errs = append(errs, os.RemoveAll(l.stateDir))
	}
	releaseLoopbackNetns()
	return errors.Join(errs...)
}

// closeNodes closes nodes in parallel: each takes a moment to shut down.
func closeNodes(nodes []*tsnet.Server) {
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Go(func() { n.Close() }) // already closed by its owner: fine
	}
	wg.Wait()
}

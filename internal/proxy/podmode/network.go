package podmode

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"tailscale.com/tsnet"

	"github.com/tailscale-gateway/tailscale-gateway/internal/proxyconfig"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tsnetstack"
)

// network connects the engine to the tailnet node and the pod's network.
type network struct {
	// node is set once the node is up, before the engine first uses it.
	node *tsnet.Server
	host net.Dialer
	// podIP is where listeners on the pod network bind (empty: every
	// address of the pod).
	podIP string
	// viaTailnet holds the addresses of the configuration's network:
	// tailnet backends. The engine dials by address alone, so the set is
	// swapped just before each Apply (a tailnet IP is never also a host
	// address, so the overlap while the engine switches is harmless).
	viaTailnet atomic.Pointer[map[string]bool]
	// vipAccept is when a VIP service listener last accepted a connection
	// (Unix nanoseconds), for the withdrawal on shutdown.
	vipAccept atomic.Int64
}

// lastVIPAccept is when a VIP service connection last arrived (zero: never).
func (n *network) lastVIPAccept() time.Time {
	ns := n.vipAccept.Load()
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

func newNetwork(podIP string) *network {
	n := &network{podIP: podIP}
	none := map[string]bool{}
	n.viaTailnet.Store(&none)
	return n
}

// prepare records which backends of cfg are dialed through the tailnet,
// returning the previous set for restore.
func (n *network) prepare(cfg *proxyconfig.Config) *map[string]bool {
	set := tailnetBackends(cfg)
	return n.viaTailnet.Swap(&set)
}

// restore puts back the set of a configuration the engine kept.
func (n *network) restore(set *map[string]bool) { n.viaTailnet.Store(set) }

func tailnetBackends(cfg *proxyconfig.Config) map[string]bool {
	set := map[string]bool{}
	for _, s := range cfg.Services {
		for _, b := range s.Backends {
			if b.Network == proxyconfig.NetworkTailnet {
				set[b.Address] = true
			}
		}
	}
	return set
}

// dial is the engine's DialFunc, for connections and health checks alike.
// Tailnet backends are dialled inside the node's network stack only
// (tsnetstack.DialTailnet): never out through the pod's network.
func (n *network) dial(ctx context.Context, netw, address string) (net.Conn, error) {
	if (*n.viaTailnet.Load())[address] {
		return tsnetstack.DialTailnet(ctx, n.node, netw, address)
	}
	return n.host.DialContext(ctx, netw, address)
}

// listen is the engine's ListenFunc.
func (n *network) listen(ctx context.Context, l proxyconfig.Listener) (net.Listener, error) {
	var lc net.ListenConfig
	switch {
	case l.Network == proxyconfig.NetworkPod:
		port, err := listenerPort(l.Address)
		if err != nil {
			return nil, err
		}
		return lc.Listen(ctx, "tcp", net.JoinHostPort(n.podIP, strconv.Itoa(int(port))))
	case l.Network != proxyconfig.NetworkTailnet:
		return lc.Listen(ctx, "tcp", l.Address)
	case l.VIPService == "":
		return n.node.Listen("tcp", l.Address)
	default:
		return n.listenService(l)
	}
}

// listenService serves a VIP service on the listener's port; opening it
// advertises the service, closing it withdraws the advertisement.
func (n *network) listenService(l proxyconfig.Listener) (net.Listener, error) {
	port, err := listenerPort(l.Address)
	if err != nil {
		return nil, err
	}
	ln, err := n.node.ListenService(l.VIPService, tsnet.ServiceModeTCP{Port: port})
	if err != nil {
		return nil, fmt.Errorf("serve %s: %w", l.VIPService, err)
	}
	return acceptClock{Listener: ln, last: &n.vipAccept}, nil
}

func listenerPort(address string) (uint16, error) {
	_, p, err := net.SplitHostPort(address)
	if err != nil {
		return 0, err
	}
	port, err := strconv.ParseUint(p, 10, 16)
	if err != nil || port == 0 {
		return 0, fmt.Errorf("address %q: needs a fixed port", address)
	}
	return uint16(port), nil
}

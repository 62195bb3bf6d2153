package tsnetstack

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"tailscale.com/tsnet"
	"tailscale.com/wgengine/netstack"
)

// DialTailnet connects to a tailnet address (ip:port) inside the node's
// userspace network stack, and nowhere else. tsnet.Server.Dial sends an
// address that no peer routes at that moment (a machine not yet in the
// node's netmap, or one just deleted) out through the host's network
// instead: a packet for a tailnet address must never leave that way, so
// tailnet backends are dialled here, where such an address simply does
// not answer (the caller's context bounds the wait).
func DialTailnet(ctx context.Context, s *tsnet.Server, network, address string) (net.Conn, error) {
	dst, err := netip.ParseAddrPort(address)
	if err != nil {
		return nil, fmt.Errorf("dialing %s in the tailnet: want an ip:port (%w)", address, err)
	}
	dst = netip.AddrPortFrom(dst.Addr().Unmap(), dst.Port())
	stack, ok := s.Sys().Netstack.Get().(*netstack.Impl)
	if !ok {
		return nil, fmt.Errorf("dialing %s: the tsnet node has no userspace network stack", address)
	}
	switch network {
	case "tcp", "tcp4", "tcp6":
		c, err := stack.DialContextTCP(ctx, dst)
		if err != nil {
			return nil, err
		}
		return c, nil
	case "udp", "udp4", "udp6":
		c, err := stack.DialContextUDP(ctx, dst)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
	return nil, fmt.Errorf("dialing %s in the tailnet: network %q is neither TCP nor UDP", address, network)
}

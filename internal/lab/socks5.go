package lab

import (
	"context"

	"github.com/tailscale-gateway/tailscale-gateway/internal/lab/socks"
)

// startSOCKS5 joins the node the proxy dials through and starts the proxy.
// The node accepts routes, so VIP service names resolve and route too; its
// contained Dialer keeps the proxy inside the tailnet.
func (l *Lab) startSOCKS5(ctx context.Context) error {
	node, err := l.NewNode(ctx, NodeOptions{Hostname: SOCKS5Hostname, Ephemeral: true})
	if err != nil {
		return err
	}
	dialer, err := l.Dialer(node)
	if err != nil {
		return err
	}
	addr := l.opts.SOCKS5Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	l.socks, err = socks.Listen(addr, dialer, l.opts.Logf)
	return err
}

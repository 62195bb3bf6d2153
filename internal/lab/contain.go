package lab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"golang.org/x/net/dns/dnsmessage"
	"tailscale.com/client/local"
	"tailscale.com/ipn/ipnstate"
	"tailscale.com/net/tsaddr"
	"tailscale.com/tsnet"

	"github.com/tailscale-gateway/tailscale-gateway/internal/tsnetstack"
)

// ErrNotInTailnet is wrapped by every refusal of a Dialer: the destination
// is not an address a live peer of the lab's tailnet routes.
var ErrNotInTailnet = errors.New("not in the lab's tailnet")

// Dialer reaches, from one lab node, the tailnet and nothing else. A tsnet
// node's own Dial sends what no peer routes out through the host's network
// (and asks the host's resolver for names MagicDNS does not know); this
// one resolves names only through the node's MagicDNS, under the lab's
// domain, admits only tailnet addresses (100.64.0.0/10,
// fd7a:115c:a1e0::/48) that the node itself or a live peer routes, and
// dials them inside the node's userspace network stack, which has no way
// out of the tailnet. The lab's SOCKS5 proxy and its test clients use it.
type Dialer struct {
	lc     *local.Client
	node   *tsnet.Server
	domain string
}

// Dialer returns the contained dialer of a node of this lab.
func (l *Lab) Dialer(node *tsnet.Server) (*Dialer, error) {
	lc, err := node.LocalClient()
	if err != nil {
		return nil, err
	}
	return &Dialer{lc: lc, node: node, domain: l.domain}, nil
}

// Admit returns the tailnet address host (an IP literal, a MagicDNS name
// of the lab's domain, or a single label in it) stands for, if a live
// peer routes it; otherwise an error wrapping ErrNotInTailnet. It sends
// nothing off the machine: names are looked up in the node's own MagicDNS
// table, which answers for the lab's domain without forwarding.
func (d *Dialer) Admit(ctx context.Context, host string) (netip.Addr, error) {
	ip, err := netip.ParseAddr(host)
	if err != nil {
		if ip, err = d.Lookup(ctx, host); err != nil {
			return netip.Addr{}, err
		}
	}
	ip = ip.Unmap()
	if !isTailnetAddr(ip) {
		return netip.Addr{}, fmt.Errorf("%s: %w: outside %s and %s", ip, ErrNotInTailnet, tsaddr.CGNATRange(), tsaddr.TailscaleULARange())
	}
	st, err := d.lc.Status(ctx)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("reading the node's peers: %w", err)
	}
	if err := routed(ip, st); err != nil {
		return netip.Addr{}, err
	}
	return ip, nil
}

// Lookup asks the node's MagicDNS for a name of the lab's domain (a single
// label is completed with it); an unknown name is an error wrapping
// ErrNotInTailnet. Tests use it to see that a deleted name is gone.
func (d *Dialer) Lookup(ctx context.Context, host string) (netip.Addr, error) {
	name, err := magicDNSName(host, d.domain)
	if err != nil {
		return netip.Addr{}, err
	}
	msg, _, err := d.lc.QueryDNS(ctx, name, "A")
	if err != nil {
		return netip.Addr{}, fmt.Errorf("asking MagicDNS for %s: %w", name, err)
	}
	return firstAddr(name, msg)
}

// DialTCP connects to an admitted address inside the node's network
// stack: what no peer routes is never sent anywhere.
func (d *Dialer) DialTCP(ctx context.Context, dst netip.AddrPort) (net.Conn, error) {
	return tsnetstack.DialTailnet(ctx, d.node, "tcp", dst.String())
}

// Dial is net.Dialer.DialContext for TCP over the tailnet only.
func (d *Dialer) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if network != "tcp" && network != "tcp4" && network != "tcp6" {
		return nil, fmt.Errorf("lab dialer: network %q: only TCP is served", network)
	}
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	port, err := net.LookupPort(network, portText)
	if err != nil {
		return nil, err
	}
	ip, err := d.Admit(ctx, host)
	if err != nil {
		return nil, fmt.Errorf("lab dialer: %s: %w", addr, err)
	}
	return d.DialTCP(ctx, netip.AddrPortFrom(ip, uint16(port)))
}

// HTTPClient is an HTTP client whose connections go through Dial.
func (d *Dialer) HTTPClient(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{DialContext: d.Dial}}
}

// isTailnetAddr: an address Tailscale hands out (CGNAT and its ULA range).
func isTailnetAddr(ip netip.Addr) bool {
	return tsaddr.CGNATRange().Contains(ip) || tsaddr.TailscaleULARange().Contains(ip)
}

// magicDNSName is host as a MagicDNS name of domain: lower case, without
// the trailing dot, a single label completed with the domain (MagicDNS's
// search domain). A name of any other domain is refused.
func magicDNSName(host, domain string) (string, error) {
	name := strings.ToLower(strings.TrimSuffix(host, "."))
	if name == "" {
		return "", fmt.Errorf("empty name: %w", ErrNotInTailnet)
	}
	if !strings.Contains(name, ".") {
		name += "." + domain
	}
	if !strings.HasSuffix(name, "."+domain) {
		return "", fmt.Errorf("%s: %w: not a MagicDNS name of %s", host, ErrNotInTailnet, domain)
	}
	return name, nil
}

// firstAddr is the first A or AAAA answer of a DNS response.
func firstAddr(name string, msg []byte) (netip.Addr, error) {
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("MagicDNS answer for %s: %w", name, err)
	}
	if err := p.SkipAllQuestions(); err != nil {
		return netip.Addr{}, fmt.Errorf("MagicDNS answer for %s: %w", name, err)
	}
	answers, err := p.AllAnswers()
	if err != nil {
		return netip.Addr{}, fmt.Errorf("MagicDNS answer for %s: %w", name, err)
	}
	for _, a := range answers {
		switch r := a.Body.(type) {
		case *dnsmessage.AResource:
			return netip.AddrFrom4(r.A), nil
		case *dnsmessage.AAAAResource:
			return netip.AddrFrom16(r.AAAA), nil
		}
	}
	return netip.Addr{}, fmt.Errorf("%s: %w: MagicDNS has no record of it (%s)", name, ErrNotInTailnet, h.RCode)
}

// routed says whether ip is the node's own or routed by a peer whose key
// has not expired (the lab expires a deleted device's key).
func routed(ip netip.Addr, st *ipnstate.Status) error {
	if st.Self != nil && containsAddr(st.Self.TailscaleIPs, ip) {
		return nil
	}
	for _, p := range st.Peer {
		if p.Expired || p.AllowedIPs == nil {
			continue
		}
		for _, pfx := range p.AllowedIPs.All() {
			if pfx.Contains(ip) {
				return nil
			}
		}
	}
	return fmt.Errorf("%s: %w: no live peer routes it", ip, ErrNotInTailnet)
}

func containsAddr(addrs []netip.Addr, ip netip.Addr) bool {
	for _, a := range addrs {
		if a == ip {
			return true
		}
	}
	return false
}

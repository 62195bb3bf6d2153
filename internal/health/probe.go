package health

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"
	"time"
)

// Protocol is how a backend is probed.
type Protocol string

// Probe protocols; docs/design-notes.md says when each passes.
const (
	HTTP  Protocol = "HTTP"
	HTTPS Protocol = "HTTPS"
	TCP   Protocol = "TCP"
	UDP   Protocol = "UDP"
)

// DialFunc opens a connection; net.Dialer.DialContext and tsnet's
// Server.Dial both fit, so probes take the same path as traffic.
type DialFunc func(ctx context.Context, network, address string) (net.Conn, error)

// Probe describes one active check of one backend.
type Probe struct {
	Protocol Protocol
	Address  string // host:port
	Path     string // HTTP(S) only; empty means "/"
	// TLS configures HTTPS probes (RootCAs, ServerName). Nil means the
	// system roots and the address's host as server name.
	TLS *tls.Config
}

// udpProbePayload is sent to UDP backends; any reply or silence passes.
var udpProbePayload = []byte("tsgw-health-probe\n")

// Run performs the probe once. A nil error means the check passed. The
// context's deadline is the check timeout.
func (p Probe) Run(ctx context.Context, dial DialFunc) error {
	switch p.Protocol {
	case HTTP, HTTPS:
		return p.runHTTP(ctx, dial)
	case UDP:
		return p.runUDP(ctx, dial)
	default:
		conn, err := dial(ctx, "tcp", p.Address)
		if err != nil {
			return err
		}
		return conn.Close()
	}
}

func (p Probe) runHTTP(ctx context.Context, dial DialFunc) error {
	scheme := "http"
	if p.Protocol == HTTPS {
		scheme = "https"
	}
	path := p.Path
	if path == "" || path[0] != '/' {
		path = "/" + path
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+p.Address+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "tsgw-health-check")
	client := &http.Client{
		Transport: &http.Transport{
			DialContext:       dial,
			TLSClientConfig:   p.TLS,
			DisableKeepAlives: true, // every check exercises a fresh connection
		},
		// 3xx passes as it is; following redirects would probe another server.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 399 {
		return fmt.Errorf("HTTP status %d", resp.StatusCode)
	}
	return nil
}

// runUDP sends a datagram on a connected socket. The kernel turns an ICMP
// port-unreachable answer into ECONNREFUSED on the next read, which fails
// the check; silence until the deadline, or any reply, passes.
func (p Probe) runUDP(ctx context.Context, dial DialFunc) error {
	conn, err := dial(ctx, "udp", p.Address)
	if err != nil {
		return err
	}
	defer conn.Close()
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(time.Second)
	}
	if err := conn.SetDeadline(deadline); err != nil {
		return err
	}
	if _, err := conn.Write(udpProbePayload); err != nil {
		return err
	}
	var buf [64]byte
	_, err = conn.Read(buf[:])
	var ne net.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ne) && ne.Timeout():
		return nil
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("port unreachable: %w", err)
	}
	return err
}

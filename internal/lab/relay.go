package lab

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"

	"tailscale.com/derp/derpserver"
	"tailscale.com/net/stunserver"
	"tailscale.com/tailcfg"
	"tailscale.com/types/key"
	"tailscale.com/types/logger"
)

// relay is the lab's DERP relay and STUN server, both on one IPv4 address
// (loopback unless Options.RelayIP says otherwise). It is what
// integration.RunDERPAndSTUN builds, without needing a testing.TB.
type relay struct {
	ip         string
	derp       *derpserver.Server
	https      *httptest.Server
	stun       *stunserver.STUNServer
	stopSTUN   context.CancelFunc
	stunServed sync.WaitGroup
	derpMap    *tailcfg.DERPMap
}

const loopbackIP = "127.0.0.1"

func startRelay(ip string, logf logger.Logf) (*relay, error) {
	if ip == "" {
		ip = loopbackIP
	}
	if a, err := netip.ParseAddr(ip); err != nil || !a.Is4() {
		return nil, fmt.Errorf("relay IP %q: must be an IPv4 address", ip)
	}
	r := &relay{ip: ip, derp: derpserver.New(key.NewNode(), logf)}
	if err := r.serveDERP(logf); err != nil {
		r.derp.Close()
		return nil, err
	}
	if err := r.serveSTUN(); err != nil {
		r.close()
		return nil, err
	}
	r.derpMap = r.buildDERPMap()
	return r, nil
}

// serveDERP serves the relay over TLS with httptest's self-signed
// certificate; the DERP map marks the node InsecureForTests so clients
// accept that certificate.
func (r *relay) serveDERP(logf logger.Logf) error {
	ln, err := net.Listen("tcp", net.JoinHostPort(r.ip, "0"))
	if err != nil {
		return fmt.Errorf("listening for DERP: %w", err)
	}
	handler := derpserver.AddWebSocketSupport(r.derp, derpserver.Handler(r.derp))
	r.https = httptest.NewUnstartedServer(handler)
	r.https.Listener.Close()
	r.https.Listener = ln
	r.https.Config.ErrorLog = logger.StdLogger(logf)
	// DERP upgrades HTTP/1.1 connections; HTTP/2 would break the upgrade.
	r.https.Config.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
	r.https.StartTLS()
	return nil
}

func (r *relay) serveSTUN() error {
	ctx, cancel := context.WithCancel(context.Background())
	r.stopSTUN = cancel
	r.stun = stunserver.New(ctx)
	if err := r.stun.Listen(net.JoinHostPort(r.ip, "0")); err != nil {
		return fmt.Errorf("listening for STUN: %w", err)
	}
	r.stunServed.Go(func() { r.stun.Serve() })
	return nil
}

func (r *relay) buildDERPMap() *tailcfg.DERPMap {
	return &tailcfg.DERPMap{
		Regions: map[int]*tailcfg.DERPRegion{
			1: {
				RegionID:   1,
				RegionCode: "lab",
				RegionName: "Lab",
				Nodes: []*tailcfg.DERPNode{{
					Name:             "lab1",
					RegionID:         1,
					HostName:         r.ip,
					IPv4:             r.ip,
					IPv6:             "none",
					STUNPort:         r.stun.LocalAddr().(*net.UDPAddr).Port,
					DERPPort:         r.https.Listener.Addr().(*net.TCPAddr).Port,
					InsecureForTests: true,
					STUNTestIP:       r.ip,
				}},
			},
		},
	}
}

func (r *relay) close() {
	if r.https != nil {
		r.https.CloseClientConnections()
		r.https.Close()
	}
	r.derp.Close()
	if r.stopSTUN != nil {
		r.stopSTUN()
		r.stunServed.Wait()
	}
}

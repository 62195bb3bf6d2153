package lab

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"

	"tailscale.com/tailcfg"
	"tailscale.com/tstest/integration/testcontrol"
	"tailscale.com/types/logger"
)

// newControl configures testcontrol for the lab: MagicDNS on the lab's
// domain, the lab's DERP map, tags taken from the nodes' requests, and
// map polls reported to sessions.
func newControl(domain string, derpMap *tailcfg.DERPMap, tagOwners map[string][]string,
	s *sessions, logf logger.Logf,
) *testcontrol.Server {
	if tagOwners == nil {
		// Non-nil makes testcontrol give a registering node the tags in
		// its Hostinfo.RequestTags (tsnet.Server.AdvertiseTags).
		tagOwners = map[string][]string{}
	}
	return &testcontrol.Server{
		DERPMap:        derpMap,
		DNSConfig:      &tailcfg.DNSConfig{Proxied: true},
		MagicDNSDomain: domain,
		TagOwners:      tagOwners,
		HoldMapRequest: s.holdMapRequest,
		Logf:           logf,
	}
}

// serveControl serves control over plain HTTP on addr (nodes speak the
// Noise protocol inside it, as they do with production control).
func serveControl(control *testcontrol.Server, addr string, logf logger.Logf) (*httptest.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening for control: %w", err)
	}
	srv := httptest.NewUnstartedServer(onlyControlPaths(control))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Config.ErrorLog = logger.StdLogger(logf)
	srv.Start()
	control.HTTPTestServer = srv
	return srv, nil
}

// onlyControlPaths answers 404 for paths testcontrol does not serve:
// testcontrol panics on them, and in make dev anybody (a browser, curl)
// may knock on the control URL.
func onlyControlPaths(control http.Handler) http.Handler {
	served := []string{"/key", "/ts2021", "/machine/", "/c2n/", "/generate_204"}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, p := range served {
			if r.URL.Path == p || strings.HasSuffix(p, "/") && strings.HasPrefix(r.URL.Path, p) {
				control.ServeHTTP(w, r)
				return
			}
		}
		http.NotFound(w, r)
	})
}

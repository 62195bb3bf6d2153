package proxy

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/tailscale-gateway/tailscale-gateway/internal/proxyconfig"
)

// An HTTPS backend signed by a private CA is healthy when its CA bundle is
// given, and unhealthy when only the system roots are trusted.
func TestHTTPSCheckTrustsTheGivenCABundle(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(srv.Close)
	caPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
	addr := srv.Listener.Addr().String()

	e, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Shutdown(t.Context()) })
	cfg := &proxyconfig.Config{
		Listeners: []proxyconfig.Listener{{Address: "127.0.0.1:0", Service: "ext"}},
		Services: []proxyconfig.Service{{
			Name: "ext", Strategy: proxyconfig.StrategyRoundRobin,
			HealthCheck: proxyconfig.HealthCheck{Enabled: true, Path: "/", Protocol: proxyconfig.ProtocolHTTPS,
				Interval: proxyconfig.Duration{Duration: 100 * time.Millisecond}, Timeout: proxyconfig.Duration{Duration: 50 * time.Millisecond},
				HealthyThreshold: 1, UnhealthyThreshold: 1,
				TLS: &proxyconfig.TLS{ServerName: "example.com"}},
			Backends: []proxyconfig.Backend{
				{Name: "trusted", Address: addr, TLS: &proxyconfig.TLS{ServerName: "example.com", CA: caPEM}},
				{Name: "system-roots-only", Address: addr},
			},
		}},
	}
	cfg.Default()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := e.Apply(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		state := map[string]string{}
		for _, b := range e.Stats()[0].Backends {
			state[b.Name] = b.HealthState
		}
		if state["trusted"] == "healthy" && state["system-roots-only"] == "unhealthy" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("health states %v; want the CA-bundle backend healthy and the other unhealthy", state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A backend whose CA the proxy cannot use (no PEM certificate) is left out
// of its service; the configuration applies, with every other backend and
// service in it. Refusing it would keep every service of the pool on its
// old configuration over one backend's settings.
func TestBackendWithUnusableCAIsLeftOut(t *testing.T) {
	good, bad := startBackend(t, "good"), startBackend(t, "bad")
	junk := &proxyconfig.TLS{CA: "this is not PEM\x00\xff"}
	cfg := serviceConfig(proxyconfig.StrategyRoundRobin, good, bad)
	cfg.Services[0].Backends[1].TLS = junk
	cfg.Services = append(cfg.Services, proxyconfig.Service{Name: "lonely", Strategy: proxyconfig.StrategyRoundRobin,
		Backends: []proxyconfig.Backend{{Name: "bad", Address: bad.addr(), TLS: junk}}})
	e, addr := startEngine(t, cfg, nil)

	backends := map[string][]string{}
	for _, s := range e.Stats() {
		backends[s.Name] = []string{}
		for _, b := range s.Backends {
			backends[s.Name] = append(backends[s.Name], b.Name)
		}
	}
	if !slices.Equal(backends["web"], []string{"good"}) || backends["lonely"] == nil || len(backends["lonely"]) != 0 {
		t.Errorf("backends by service %v; want web over good alone, lonely over none", backends)
	}
	for range 4 {
		if got, err := get(addr); err != nil || got != "good" {
			t.Fatalf("answer %q, %v; want good", got, err)
		}
	}
}

package operator_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/tailscale-gateway/tailscale-gateway/internal/apiemulator"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tsapi"
)

// OAuth client of every emulated tailnet, and their MagicDNS domain.
const (
	clientID     = "faults-client"
	clientSecret = "faults-secret"
	domain       = "faults.ts.net"
)

// tailnetAPI is one tailnet's API: an emulator behind a gate that can
// blackhole requests or act right after one was served.
type tailnetAPI struct {
	emu  *apiemulator.Server
	url  string
	api  tsapi.Client // the test's own client, to read the inventory
	gate *gate
}

// seedPolicy is every tailnet's policy at the start: rules, comments and
// approvers of other services that no write of ours may disturb.
const seedPolicy = `{
	// Written by hand; comments stay.
	"tagOwners": {"tag:web": ["autogroup:admin"], "tag:other": ["autogroup:admin"]},
	"acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}],
	"autoApprovers": {
		"routes":   {"10.0.0.0/8": ["tag:other"]},
		"services": {"svc:someone-elses": ["tag:other"]},
	},
}`

func newTailnetAPI(t *testing.T) *tailnetAPI {
	t.Helper()
	emu := apiemulator.New(apiemulator.Options{ClientID: clientID, ClientSecret: clientSecret, TailnetDomain: domain, Policy: []byte(seedPolicy)})
	g := &gate{next: emu, released: make(chan struct{})}
	srv := httptest.NewServer(g)
	// A blackholed request ends when its client goes; release the rest so
	// the server can close.
	t.Cleanup(func() { g.release(); srv.Close() })
	api, err := tsapi.New(tsapi.Config{BaseURL: srv.URL, ClientID: clientID, ClientSecret: clientSecret})
	if err != nil {
		t.Fatal(err)
	}
	return &tailnetAPI{emu: emu, url: srv.URL, api: api, gate: g}
}

// gate passes requests to the emulator, unless it blackholes them (the
// request hangs until its client gives up, as behind a dropped route);
// after, when set, runs once a request it matches has been served and
// before the response leaves (the handler has not returned, so the
// client has not read it).
type gate struct {
	next     http.Handler
	released chan struct{}

	mu        sync.Mutex
	blackhole bool
	after     func(*http.Request) bool // true: done, stop calling it
	once      sync.Once
}

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	blackhole := g.blackhole
	g.mu.Unlock()
	if blackhole && !isEmulatorAdmin(r) {
		select {
		case <-r.Context().Done():
		case <-g.released:
		}
		return
	}
	g.next.ServeHTTP(w, r)
	g.mu.Lock()
	after := g.after
	g.mu.Unlock()
	if after != nil && after(r) {
		g.setAfter(nil)
	}
}

func (g *gate) setBlackhole(on bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.blackhole = on
}

func (g *gate) setAfter(f func(*http.Request) bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.after = f
}

func (g *gate) release() { g.once.Do(func() { close(g.released) }) }

func isEmulatorAdmin(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/emulator/") }

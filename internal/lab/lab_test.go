package lab_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tailscale.com/tailcfg"
	"tailscale.com/tsnet"

	"github.com/tailscale-gateway/tailscale-gateway/internal/apiemulator"
	"github.com/tailscale-gateway/tailscale-gateway/internal/lab"
)

var verbose = flag.Bool("lab-verbose", false, "print the lab's and its nodes' logs")

const demoPolicy = `{
	// Only tag:demo may host svc:demo; tag:other may not.
	"autoApprovers": {"services": {"svc:demo": ["tag:demo"]}},
}`

// TestLab runs one lab through the whole story: a VIP service routed to an
// approved host, reached by name directly and through SOCKS5, failing over
// when its host leaves, and never routed to an unapproved host.
func TestLab(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	l, emu := startLab(t, ctx, lab.Options{})
	newAPIClient(t, emu).createService("svc:demo")

	nodes := startNodes(t, ctx, l, map[string][]string{
		"host-a": {"tag:demo"}, "host-b": {"tag:demo"}, "host-c": {"tag:other"}, "client": nil,
	})
	hits := map[string]*atomic.Int64{}
	for _, name := range []string{"host-a", "host-b", "host-c"} {
		hits[name] = serveDemo(t, nodes[name], name)
	}
	serveDirect(t, nodes["host-a"], ":8080", "host-a direct")
	demoURL := "http://demo." + l.Domain() + "/"
	client := containedClient(t, l, nodes["client"], 5*time.Second)

	first := waitAnsweredByPrimary(t, ctx, l, nodes, client, demoURL)

	t.Run("SOCKS5", func(t *testing.T) {
		viaSOCKS := socksClient(t, l.SOCKS5Addr())
		eventually(t, ctx, "GET "+demoURL+" through SOCKS5", func() error {
			return expectBody(viaSOCKS, demoURL, first)
		})
		hostURL := "http://host-a." + l.Domain() + ":8080/"
		eventually(t, ctx, "GET "+hostURL+" through SOCKS5", func() error {
			return expectBody(viaSOCKS, hostURL, "host-a direct")
		})
	})

	t.Run("Devices", func(t *testing.T) {
		checkDevices(t, l)
	})

	t.Run("Failover", func(t *testing.T) {
		nodes[first].Close()
		second := waitAnsweredByPrimary(t, ctx, l, nodes, client, demoURL)
		if second == first || second == "host-c" {
			t.Fatalf("after %s left, %s answered; want the other approved host", first, second)
		}
		nodes[second].Close()
	})

	t.Run("UnapprovedHostGetsNothing", func(t *testing.T) {
		eventually(t, ctx, "svc:demo to have no host", func() error {
			if id, ok := l.ServiceHost("svc:demo"); ok {
				return fmt.Errorf("hosted by %s", id)
			}
			return nil
		})
		short := containedClient(t, l, nodes["client"], 2*time.Second)
		if err := expectBody(short, demoURL, "host-c"); err == nil {
			t.Fatal("the unapproved host-c answered for svc:demo")
		}
		if n := hits["host-c"].Load(); n != 0 {
			t.Fatalf("unapproved host-c received %d requests", n)
		}
	})
}

func startLab(t *testing.T, ctx context.Context, opts lab.Options) (*lab.Lab, *apiemulator.Server) {
	if *verbose {
		opts.Logf = t.Logf
	}
	l, err := lab.Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("closing the lab: %v", err)
		}
	})
	emu := apiemulator.New(apiemulator.Options{
		ClientID: "lab", ClientSecret: "secret", TailnetDomain: l.Domain(),
		Tailnet: l, Policy: []byte(demoPolicy),
	})
	l.UseEmulator(emu)
	return l, emu
}

// startNodes starts the nodes in parallel: each takes seconds to come up.
func startNodes(t *testing.T, ctx context.Context, l *lab.Lab, tags map[string][]string) map[string]*tsnet.Server {
	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		nodes = map[string]*tsnet.Server{}
		errs  []error
	)
	for name, tt := range tags {
		wg.Go(func() {
			n, err := l.NewNode(ctx, lab.NodeOptions{Hostname: name, Tags: tt, Ephemeral: true})
			mu.Lock()
			defer mu.Unlock()
			nodes[name] = n
			errs = append(errs, err)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return nodes
}

// serveDemo makes a node advertise svc:demo on port 80 and answer HTTP
// with its own name; it returns the node's request counter.
func serveDemo(t *testing.T, n *tsnet.Server, name string) *atomic.Int64 {
	ln, err := n.ListenService("svc:demo", tsnet.ServiceModeTCP{Port: 80})
	if err != nil {
		t.Fatalf("%s: ListenService: %v", name, err)
	}
	var hits atomic.Int64
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		io.WriteString(w, name)
	}))
	return &hits
}

func serveDirect(t *testing.T, n *tsnet.Server, addr, body string) {
	ln, err := n.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, body)
	}))
}

// waitAnsweredByPrimary waits until the service answers and the answer
// comes from the host the lab says is primary; it returns that host.
func waitAnsweredByPrimary(t *testing.T, ctx context.Context, l *lab.Lab,
	nodes map[string]*tsnet.Server, client *http.Client, u string,
) string {
	var answered string
	eventually(t, ctx, "GET "+u+" answered by the primary host", func() error {
		id, ok := l.ServiceHost("svc:demo")
		if !ok {
			return errors.New("no primary host yet")
		}
		body, err := get(client, u)
		if err != nil {
			return err
		}
		if want := hostname(ctx, nodes, id); body != want {
			return fmt.Errorf("answered by %q, primary is %q", body, want)
		}
		answered = body
		return nil
	})
	return answered
}

func hostname(ctx context.Context, nodes map[string]*tsnet.Server, id tailcfg.StableNodeID) string {
	for name, n := range nodes {
		lc, err := n.LocalClient()
		if err != nil {
			continue
		}
		if st, err := lc.StatusWithoutPeers(ctx); err == nil && st.Self.ID == id {
			return name
		}
	}
	return string(id)
}

func checkDevices(t *testing.T, l *lab.Lab) {
	var found *apiemulator.Device
	for _, d := range l.Devices() {
		if d.Hostname == "host-a" {
			found = &d
		}
	}
	if found == nil {
		t.Fatal("host-a is not among the devices")
	}
	if want := "host-a." + l.Domain(); found.Name != want || len(found.Tags) != 1 || found.Tags[0] != "tag:demo" ||
		!found.ConnectedToControl || len(found.Addresses) != 2 {
		t.Fatalf("host-a device = %+v; want name %s, tag:demo, connected, two addresses", *found, want)
	}
}

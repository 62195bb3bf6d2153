package lab_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
	"tailscale.com/tsnet"

	"github.com/tailscale-gateway/tailscale-gateway/internal/lab"
	"github.com/tailscale-gateway/tailscale-gateway/internal/lab/socks"
)

// TestContainment: the lab's SOCKS5 proxy reaches the tailnet and nothing
// else. An IP literal outside it, an unknown name, and the names of a
// deleted VIP service and a deleted device are refused with reply 2, and
// never dialed (a second proxy over a recording dialer shows it); the
// deleted names leave MagicDNS (asked through the client's own resolver,
// not by dialing them).
func TestContainment(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 120*time.Second)
	defer cancel()
	l, emu := startLab(t, ctx, lab.Options{})
	api := newAPIClient(t, emu)
	api.createService("svc:demo")
	nodes := startNodes(t, ctx, l, map[string][]string{"host-a": {"tag:demo"}, "client": nil})
	serveDemo(t, nodes["host-a"], "host-a")
	serveDirect(t, nodes["host-a"], ":8080", "host-a direct")
	demo, hostA := "demo."+l.Domain(), "host-a."+l.Domain()
	eventually(t, ctx, "svc:demo to answer", func() error {
		return expectBody(containedClient(t, l, nodes["client"], 3*time.Second), "http://"+demo+"/", "host-a")
	})

	d, err := l.Dialer(nodes["client"])
	if err != nil {
		t.Fatal(err)
	}
	rec := &recordingTailnet{Dialer: d}
	recorded, err := socks.Listen("127.0.0.1:0", rec, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	defer recorded.Close()
	proxies := []string{l.SOCKS5Addr(), recorded.Addr()}
	demoAddr, err := d.Admit(ctx, demo)
	if err != nil {
		t.Fatal(err)
	}
	hostAAddr, err := d.Admit(ctx, hostA)
	if err != nil {
		t.Fatal(err)
	}

	for _, p := range proxies {
		expectReply(t, ctx, p, demo, 80, socks.ReplySucceeded)
		for _, host := range []string{"203.0.113.7", "2001:db8::7", "10.0.0.1", "nobody." + l.Domain(), "example.com"} {
			expectReply(t, ctx, p, host, 80, socks.ReplyNotAllowed)
		}
	}

	api.do("DELETE", "/tailnet/-/vip-services/svc:demo", "", nil)
	deleted := time.Now()
	waitUnresolved(t, ctx, nodes["client"], demo)
	for _, p := range proxies {
		eventuallyRefused(t, ctx, p, demo)
	}
	if took := time.Since(deleted); took > 30*time.Second {
		t.Errorf("a deleted service's name was refused only after %s", took)
	}

	dev, ok := deviceNamed(l, "host-a")
	if !ok {
		t.Fatal("host-a is not a device")
	}
	expectReply(t, ctx, recorded.Addr(), hostA, 8080, socks.ReplySucceeded)
	api.deleteDevice(dev.NodeID)
	waitUnresolved(t, ctx, nodes["client"], hostA)
	for _, p := range proxies {
		eventuallyRefused(t, ctx, p, hostA)
		eventuallyRefused(t, ctx, p, dev.Addresses[0])
	}

	want := []netip.AddrPort{netip.AddrPortFrom(demoAddr, 80), netip.AddrPortFrom(hostAAddr, 8080)}
	if got := rec.dialed(); !slices.Equal(got, want) {
		t.Fatalf("the recording proxy dialed %v; want only svc:demo and host-a before they were deleted, %v", got, want)
	}
}

func expectReply(t *testing.T, ctx context.Context, proxy, host string, port uint16, want byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	got, err := socks.Reply(ctx, proxy, host, port)
	if err != nil || got != want {
		t.Fatalf("CONNECT %s:%d through %s: reply %d, %v; want %d", host, port, proxy, got, err, want)
	}
}

// eventuallyRefused waits until the proxy refuses host: each proxy's node
// learns of a deletion from its own netmap, a moment apart from the
// client's.
func eventuallyRefused(t *testing.T, ctx context.Context, proxy, host string) {
	t.Helper()
	eventually(t, ctx, "CONNECT "+host+" to be refused by "+proxy, func() error {
		ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		got, err := socks.Reply(ctx, proxy, host, 80)
		if err != nil || got != socks.ReplyNotAllowed {
			return fmt.Errorf("reply %d, %v", got, err)
		}
		return nil
	})
}

// waitUnresolved waits until the node's MagicDNS has no record of name.
func waitUnresolved(t *testing.T, ctx context.Context, node *tsnet.Server, name string) {
	t.Helper()
	lc, err := node.LocalClient()
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, ctx, name+" to leave MagicDNS", func() error {
		msg, _, err := lc.QueryDNS(ctx, name, "A")
		if err != nil {
			return err
		}
		var p dnsmessage.Parser
		if _, err := p.Start(msg); err != nil {
			return err
		}
		p.SkipAllQuestions()
		answers, err := p.AllAnswers()
		if err != nil {
			return err
		}
		if len(answers) > 0 {
			return fmt.Errorf("still answered: %v", answers[0].Body)
		}
		return nil
	})
}

// recordingTailnet records what the proxy dials.
type recordingTailnet struct {
	*lab.Dialer
	mu    sync.Mutex
	dials []netip.AddrPort
}

func (r *recordingTailnet) DialTCP(ctx context.Context, dst netip.AddrPort) (net.Conn, error) {
	r.mu.Lock()
	r.dials = append(r.dials, dst)
	r.mu.Unlock()
	return r.Dialer.DialTCP(ctx, dst)
}

func (r *recordingTailnet) dialed() []netip.AddrPort {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]netip.AddrPort(nil), r.dials...)
}

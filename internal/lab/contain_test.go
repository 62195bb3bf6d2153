package lab

import (
	"errors"
	"net/netip"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
	"tailscale.com/ipn/ipnstate"
	"tailscale.com/types/key"
	"tailscale.com/types/views"
)

func TestMagicDNSName(t *testing.T) {
	tests := []struct {
		host, want string
		refused    bool
	}{
		{host: "web.tailnet-lab.ts.net", want: "web.tailnet-lab.ts.net"},
		{host: "WEB.Tailnet-Lab.ts.net.", want: "web.tailnet-lab.ts.net"},
		{host: "web", want: "web.tailnet-lab.ts.net"},
		{host: "example.com", refused: true},
		{host: "tailnet-lab.ts.net.example.com", refused: true},
		{host: "eviltailnet-lab.ts.net", refused: true},
		{host: "", refused: true},
	}
	for _, tt := range tests {
		got, err := magicDNSName(tt.host, "tailnet-lab.ts.net")
		if tt.refused {
			if !errors.Is(err, ErrNotInTailnet) {
				t.Errorf("magicDNSName(%q) = %q, %v; want ErrNotInTailnet", tt.host, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("magicDNSName(%q) = %q, %v; want %q", tt.host, got, err, tt.want)
		}
	}
}

func TestIsTailnetAddr(t *testing.T) {
	for addr, want := range map[string]bool{
		"100.64.0.1": true, "100.127.255.254": true, "fd7a:115c:a1e0::1": true,
		"100.128.0.1": false, "203.0.113.7": false, "127.0.0.1": false, "10.0.0.1": false,
		"fd7a:115c:a1e1::1": false, "2001:db8::1": false,
	} {
		if got := isTailnetAddr(netip.MustParseAddr(addr)); got != want {
			t.Errorf("isTailnetAddr(%s) = %v", addr, got)
		}
	}
}

func TestRouted(t *testing.T) {
	prefixes := func(ps ...string) *views.Slice[netip.Prefix] {
		var out []netip.Prefix
		for _, p := range ps {
			out = append(out, netip.MustParsePrefix(p))
		}
		v := views.SliceOf(out)
		return &v
	}
	st := &ipnstate.Status{
		Self: &ipnstate.PeerStatus{TailscaleIPs: []netip.Addr{netip.MustParseAddr("100.64.0.1")}},
		Peer: map[key.NodePublic]*ipnstate.PeerStatus{
			key.NewNode().Public(): {AllowedIPs: prefixes("100.64.0.2/32", "100.100.0.5/32")}, // hosts a VIP service
			key.NewNode().Public(): {AllowedIPs: prefixes("100.64.0.3/32"), Expired: true},    // a deleted device
			key.NewNode().Public(): {},                                                        // no addresses (forgotten)
		},
	}
	for addr, want := range map[string]bool{
		"100.64.0.1": true, "100.64.0.2": true, "100.100.0.5": true,
		"100.64.0.3": false, "100.100.0.6": false,
	} {
		err := routed(netip.MustParseAddr(addr), st)
		if got := err == nil; got != want {
			t.Errorf("routed(%s) = %v, want routed %v", addr, err, want)
		}
		if err != nil && !errors.Is(err, ErrNotInTailnet) {
			t.Errorf("routed(%s) = %v, want ErrNotInTailnet", addr, err)
		}
	}
}

func TestFirstAddr(t *testing.T) {
	name := dnsmessage.MustNewName("web.tailnet-lab.ts.net.")
	msg := func(rcode dnsmessage.RCode, answers ...dnsmessage.Resource) []byte {
		m := dnsmessage.Message{
			Header:    dnsmessage.Header{Response: true, RCode: rcode},
			Questions: []dnsmessage.Question{{Name: name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}},
			Answers:   answers,
		}
		b, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a := dnsmessage.Resource{
		Header: dnsmessage.ResourceHeader{Name: name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET},
		Body:   &dnsmessage.AResource{A: [4]byte{100, 100, 0, 5}},
	}
	if got, err := firstAddr("web", msg(dnsmessage.RCodeSuccess, a)); err != nil || got != netip.MustParseAddr("100.100.0.5") {
		t.Errorf("firstAddr(answer) = %v, %v", got, err)
	}
	for _, m := range [][]byte{msg(dnsmessage.RCodeNameError), msg(dnsmessage.RCodeSuccess)} {
		if _, err := firstAddr("web", m); !errors.Is(err, ErrNotInTailnet) {
			t.Errorf("firstAddr(no answer) = %v, want ErrNotInTailnet", err)
		}
	}
	if _, err := firstAddr("web", []byte{1, 2}); err == nil || errors.Is(err, ErrNotInTailnet) {
		t.Errorf("firstAddr(garbage) = %v, want a parse error", err)
	}
}

package socks

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeTailnet admits one name and one address, and records every call,
// so a test sees that a refused destination was never dialed.
type fakeTailnet struct {
	name    string
	addr    netip.Addr
	backend string // where an admitted dial really goes (a loopback server)

	mu     sync.Mutex
	admits []string
	dials  []netip.AddrPort
}

func (f *fakeTailnet) Admit(_ context.Context, host string) (netip.Addr, error) {
	f.mu.Lock()
	f.admits = append(f.admits, host)
	f.mu.Unlock()
	if host == f.name || host == f.addr.String() {
		return f.addr, nil
	}
	return netip.Addr{}, fmt.Errorf("%s is not in the tailnet", host)
}

func (f *fakeTailnet) DialTCP(ctx context.Context, dst netip.AddrPort) (net.Conn, error) {
	f.mu.Lock()
	f.dials = append(f.dials, dst)
	f.mu.Unlock()
	var d net.Dialer
	return d.DialContext(ctx, "tcp", f.backend)
}

func (f *fakeTailnet) recorded() (admits []string, dials []netip.AddrPort) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.admits), slices.Clone(f.dials)
}

func start(t *testing.T) (*Server, *fakeTailnet, *[]string) {
	t.Helper()
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "hello")
	}))
	t.Cleanup(backend.Close)
	tn := &fakeTailnet{
		name:    "demo.tailnet-lab.ts.net",
		addr:    netip.MustParseAddr("100.100.7.7"),
		backend: backend.Listener.Addr().String(),
	}
	var mu sync.Mutex
	var logs []string
	logf := func(f string, a ...any) {
		mu.Lock()
		defer mu.Unlock()
		logs = append(logs, fmt.Sprintf(f, a...))
	}
	s, err := Listen("127.0.0.1:0", tn, logf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, tn, &logs
}

// TestAdmittedNameIsDialedByAddress: a socks5h request's name goes to
// Admit unresolved, and the connection to the address it returned works.
func TestAdmittedNameIsDialedByAddress(t *testing.T) {
	s, tn, _ := start(t)
	proxy, _ := url.Parse("socks5h://" + s.Addr())
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: http.ProxyURL(proxy)}}
	res, err := client.Get("http://demo.tailnet-lab.ts.net/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(body) != "hello" {
		t.Fatalf("body %q", body)
	}
	admits, dials := tn.recorded()
	if !slices.Contains(admits, "demo.tailnet-lab.ts.net") {
		t.Fatalf("Admit got %q, want the unresolved name", admits)
	}
	if want := netip.MustParseAddrPort("100.100.7.7:80"); !slices.Equal(dials, []netip.AddrPort{want}) {
		t.Fatalf("dialed %v, want %v", dials, want)
	}
}

// TestRefusedDestinations: an address outside the tailnet, an unknown name
// and a command other than CONNECT get reply 2 at once, with a log line,
// and nothing is dialed.
func TestRefusedDestinations(t *testing.T) {
	s, tn, logs := start(t)
	tests := []struct {
		name    string
		request []byte
	}{
		{"IPv4 literal outside the tailnet", connectRequest("203.0.113.7", 80)},
		{"IPv6 literal outside the tailnet", connectRequest("2001:db8::7", 80)},
		{"unknown name", connectRequest("example.com", 80)},
		{"deleted name", connectRequest("gone.tailnet-lab.ts.net", 443)},
		{"BIND to an admitted address", withCommand(2, connectRequest("100.100.7.7", 80))},
		{"UDP ASSOCIATE", withCommand(3, connectRequest("100.100.7.7", 53))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			began := time.Now()
			if got := reply(t, s.Addr(), tt.request); got != 2 {
				t.Fatalf("reply %d, want 2 (connection not allowed by ruleset)", got)
			}
			if d := time.Since(began); d > 2*time.Second {
				t.Fatalf("refusal took %s", d)
			}
		})
	}
	if _, dials := tn.recorded(); len(dials) != 0 {
		t.Fatalf("refused destinations were dialed: %v", dials)
	}
	if got := strings.Join(*logs, "\n"); !strings.Contains(got, "refused CONNECT to 203.0.113.7:80") ||
		!strings.Contains(got, "example.com") || !strings.Contains(got, "only CONNECT") {
		t.Fatalf("refusals not logged:\n%s", got)
	}
}

// TestCloseEndsConnections: Close ends connections still open.
func TestCloseEndsConnections(t *testing.T) {
	s, _, _ := start(t)
	idle, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := idle.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("connection still open after Close: %v", err)
	}
}

// reply sends a no-auth greeting and request, and returns the reply code.
func reply(t *testing.T, addr string, request []byte) byte {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(append([]byte{5, 1, 0}, request...)); err != nil {
		t.Fatal(err)
	}
	head := make([]byte, 4)
	if _, err := io.ReadFull(bufio.NewReader(c), head); err != nil {
		t.Fatal(err)
	}
	return head[3]
}

func withCommand(cmd byte, request []byte) []byte {
	request[1] = cmd
	return request
}

// TestReply: the client helper reads the codes the proxy gives.
func TestReply(t *testing.T) {
	s, _, _ := start(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	for host, want := range map[string]byte{"demo.tailnet-lab.ts.net": ReplySucceeded, "203.0.113.7": ReplyNotAllowed} {
		if got, err := Reply(ctx, s.Addr(), host, 80); err != nil || got != want {
			t.Errorf("Reply(%s) = %d, %v; want %d", host, got, err, want)
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

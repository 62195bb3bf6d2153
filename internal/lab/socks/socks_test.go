package socks

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"tailscale.com/types/logger"
)

// TestProxyResolvesNamesThroughDialer: a socks5h request hands the name,
// unresolved, to the dialer (as the tailnet node's MagicDNS needs), and
// Close ends connections still open.
func TestProxyResolvesNamesThroughDialer(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "hello")
	}))
	defer backend.Close()
	dialed := make(chan string, 1)
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		dialed <- addr
		var d net.Dialer
		return d.DialContext(ctx, network, backend.Listener.Addr().String())
	}
	s, err := Listen("127.0.0.1:0", dial, logger.Discard)
	if err != nil {
		t.Fatal(err)
	}
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
	if got := <-dialed; got != "demo.tailnet-lab.ts.net:80" {
		t.Fatalf("dialer got %q, want the unresolved name", got)
	}

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

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

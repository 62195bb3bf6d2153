package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/tailscale-gateway/tailscale-gateway/internal/drainlisten"
)

// backend is a loopback HTTP server standing in for one pool's
// application. It answers every path with its name, except /hold, which
// answers its name at once and then holds the response open until
// Release (or until the client goes away), so a test can keep
// connections busy. Stop kills it (listener and open connections, as a
// crashed process would lose them), Kill lets it die draining (see Kill),
// and Start brings it back on the same address.
type backend struct {
	name string
	addr string // host:port, fixed for the backend's life

	mu      sync.Mutex
	srv     *http.Server
	ln      *drainlisten.Listener
	release chan struct{} // closed by Release
	held    int           // /hold requests being held
}

// newBackend starts a backend on a free loopback port; the test stops it.
func newBackend(t *testing.T, name string) *backend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &backend{name: name, addr: ln.Addr().String(), release: make(chan struct{})}
	b.serve(ln)
	t.Cleanup(b.Stop)
	return b
}

func (b *backend) serve(ln net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(b.handle)}
	dl := drainlisten.Wrap(ln.(*net.TCPListener))
	b.mu.Lock()
	b.srv, b.ln = srv, dl
	b.mu.Unlock()
	go srv.Serve(dl) // ErrServerClosed on Stop
}

func (b *backend) handle(w http.ResponseWriter, r *http.Request) {
	fmt.Fprintf(w, "%s\n", b.name)
	if r.URL.Path != "/hold" {
		return
	}
	w.(http.Flusher).Flush()
	b.mu.Lock()
	release := b.release
	b.held++
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		b.held--
		b.mu.Unlock()
	}()
	select {
	case <-release:
	case <-r.Context().Done():
	}
}

// Held is the number of /hold requests the backend holds open.
func (b *backend) Held() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.held
}

// Release ends every held /hold request, and those that come later.
func (b *backend) Release() {
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case <-b.release:
	default:
		close(b.release)
	}
}

// Kill makes the backend die under load the way a server that drains its
// accept queue does (see drainlisten): new connections are refused at
// once, the requests it already took are answered, then it stops. A
// request cut off in the middle is lost whatever the proxy does (the
// proxy cannot know whether the backend acted on it), so it is not what a
// test of "no request fails when a backend dies" is about.
func (b *backend) Kill() {
	b.mu.Lock()
	srv, ln := b.srv, b.ln
	b.srv, b.ln = nil, nil
	b.mu.Unlock()
	if srv == nil {
		return
	}
	ln.Kill()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(ctx) // answers what was taken, drained connections included
	srv.Close()
}

// Stop kills the backend: it stops listening and drops every connection.
func (b *backend) Stop() {
	b.mu.Lock()
	srv := b.srv
	b.srv, b.ln = nil, nil
	b.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// Start brings a stopped backend back on its address.
func (b *backend) Start(t *testing.T) {
	t.Helper()
	var ln net.Listener
	// The port was ours a moment ago; rebinding can only fail if another
	// process grabbed it meanwhile, which is worth a few retries.
	deadline := time.Now().Add(5 * time.Second)
	for {
		var err error
		ln, err = net.Listen("tcp", b.addr)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("restarting backend %s on %s: %v", b.name, b.addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.serve(ln)
}

// vipClient sends requests to VIP services from the lab client node, a
// new tailnet connection for every request.
func vipClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout:   timeout,
		Transport: &http.Transport{DialContext: dialVIP, DisableKeepAlives: true},
	}
}

// connectTimeout bounds the client's TCP connect to a VIP service.
const connectTimeout = 3 * time.Second

// errConnectStall: the client's TCP connect to the VIP address got no
// answer at all; the proxy never saw the connection. Until the tailnet
// nodes' TIME-WAIT was shortened (internal/tsnetstack), 0.3-2% of connects
// did this: a SYN on the ports of a connection the server side had closed
// first was dropped by netstack until TIME-WAIT ended. The tests count
// stalls apart from failures of the data path, and fail on any
// (checkLoad).
var errConnectStall = errors.New("connect to the VIP service got no answer")

// dialVIP dials from the client node, into the tailnet only, giving up after connectTimeout. A
// dial that outlives its context (one was seen to, before the TIME-WAIT
// fix) is abandoned rather than waited for, and closed if it connects.
func dialVIP(ctx context.Context, network, addr string) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	done := make(chan result, 1)
	go func() {
		c, err := clientDialer.Dial(ctx, network, addr)
		done <- result{c, err}
	}()
	select {
	case r := <-done:
		return r.c, r.err
	case <-ctx.Done():
		go func() { // close it if it ever connects
			if r := <-done; r.c != nil {
				r.c.Close()
			}
		}()
		return nil, fmt.Errorf("%w within %s: %s", errConnectStall, connectTimeout, addr)
	}
}

// errBody is returned for a response that is not a backend's answer.
var errBody = errors.New("unexpected response")

// ask sends one GET to url and returns the backend name that answered.
func ask(ctx context.Context, c *http.Client, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	res, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var name string
	if _, err := fmt.Fscanln(res.Body, &name); err != nil || res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%w: %s, %v", errBody, res.Status, err)
	}
	return name, nil
}

package eventloop

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"
)

// TestUnserveCarriesQueuedConnections: connections whose handshake the
// kernel completed before the listener was withdrawn, but that no loop had
// accepted, are carried, not reset by closing the socket; connections after
// it are refused.
func TestUnserveCarriesQueuedConnections(t *testing.T) {
	e := newFakeEngine(t, echoBackend(t))
	g, err := New(e, Config{Loops: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		g.AbortAll()
		g.Close()
	})
	ll, err := g.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// Not served: every connection waits in the kernel's accept queue.
	const queued = 5
	var readers []*bufio.Reader
	for i := range queued {
		c, r := dialTCP(t, ll.Addr().String())
		fmt.Fprintf(c, "hello %d\n", i)
		readers = append(readers, r)
	}
	g.Unserve(ll)
	for i, r := range readers {
		line, err := r.ReadString('\n')
		if want := fmt.Sprintf("echo hello %d\n", i); line != want {
			t.Errorf("queued connection %d: read %q, %v; want %q", i, line, err, want)
		}
	}
	if n := e.svc.established.Load(); n != queued {
		t.Errorf("%d connections established to the backend, want %d", n, queued)
	}
	if c, err := net.Dial("tcp", ll.Addr().String()); !errors.Is(err, syscall.ECONNREFUSED) {
		if err == nil {
			c.Close()
		}
		t.Errorf("dialling the withdrawn listener: %v, want connection refused", err)
	}
}

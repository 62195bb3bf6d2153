package proxy

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net"
	"testing"
	"time"

	"github.com/tailscale-gateway/tailscale-gateway/internal/proxyconfig"
)

// TestLargeTransferIntegrity sends more than a copy buffer each way, so that
// both directions switch from read/write to splice mid-stream, and checks
// that every byte arrives in order and the half-close still passes.
func TestLargeTransferIntegrity(t *testing.T) {
	inEachMode(t, func(t *testing.T) {
		for _, splice := range []bool{true, false} {
			noSpliceBulk.Store(!splice)
			// Echo, then close after the client's half-close.
			echo, _ := tcpServer(t, func(c *net.TCPConn) { io.Copy(c, c) })
			_, addr := startEngine(t, echoConfig(echo), nil)
			c, _ := dialTCP(t, addr)
			data := make([]byte, 3<<20+123)
			rand.Read(data)
			// Small writes first (read/write path), then one large one.
			if got, err := echoInChunks(c, data, 100, 5000); err != nil || !bytes.Equal(got, data) {
				t.Fatalf("splice=%v: read %d bytes (%v), want the %d sent back intact", splice, len(got), err, len(data))
			}
		}
		noSpliceBulk.Store(false)
	})
}

// TestHardStopCancelsDials: a Shutdown whose deadline passed cancels
// backend dials in flight instead of waiting for their timeout.
func TestHardStopCancelsDials(t *testing.T) {
	dialing := make(chan struct{}, 1)
	cfg := echoConfig("192.0.2.1:9") // never dialed for real
	cfg.Services[0].ConnectTimeout = proxyconfig.Duration{Duration: time.Hour}
	cfg.Default()
	e := newEngine(t, cfg, Options{Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		dialing <- struct{}{}
		<-ctx.Done()
		return nil, ctx.Err()
	}})
	c, r := dialTCP(t, e.Addr("127.0.0.1:0").String())
	select {
	case <-dialing:
	case <-time.After(10 * time.Second):
		t.Fatal("no dial")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan error, 1)
	go func() { done <- e.Shutdown(ctx) }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Shutdown = nil, want the context's error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown waited for a dial that a hard stop should cancel")
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := r.ReadByte(); err == nil {
		t.Fatal("client connection survived a hard stop")
	}
	if got := e.Stats()[0].Backends[0].Failed; got != 0 {
		t.Fatalf("a dial cancelled by the hard stop counted as a backend failure (%d)", got)
	}
}

// echoInChunks writes data to c in pieces cut at the given offsets,
// half-closes, and returns everything read back until end of input (20 s
// at most).
func echoInChunks(c *net.TCPConn, data []byte, cuts ...int) ([]byte, error) {
	go func() {
		from := 0
		for _, to := range append(cuts, len(data)) {
			if _, err := c.Write(data[from:to]); err != nil {
				return
			}
			from = to
		}
		c.CloseWrite()
	}()
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	return io.ReadAll(c)
}

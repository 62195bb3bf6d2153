package proxy

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tailscale-gateway/tailscale-gateway/internal/proxyconfig"
)

// tcpServer serves every connection with handle and counts them.
func tcpServer(t *testing.T, handle func(c *net.TCPConn)) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var accepted atomic.Int64
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			wg.Go(func() {
				defer c.Close()
				handle(c.(*net.TCPConn))
			})
		}
	})
	return ln.Addr().String(), &accepted
}

// closingHop is a proxy whose upstream is down, as seen from the proxy that
// dials it: it accepts, then closes its side before answering (a FIN; it
// reads until the dialer gives up, so that the close is never a reset).
func closingHop(t *testing.T) (string, *atomic.Int64) {
	return tcpServer(t, func(c *net.TCPConn) {
		c.CloseWrite()
		io.Copy(io.Discard, c)
	})
}

// resettingHop accepts and resets at once, like a proxy that refuses
// connections it cannot serve.
func resettingHop(t *testing.T) (string, *atomic.Int64) {
	return tcpServer(t, func(c *net.TCPConn) { c.SetLinger(0) })
}

// target is one backend of hopConfig.
type target struct {
	name, addr string
	hop        bool
}

func hopConfig(targets ...target) *proxyconfig.Config {
	svc := proxyconfig.Service{Name: "web", Strategy: proxyconfig.StrategyRoundRobin}
	for _, b := range targets {
		pb := proxyconfig.Backend{Name: b.name, Address: b.addr}
		if b.hop {
			pb.Network = proxyconfig.NetworkTailnet
		}
		svc.Backends = append(svc.Backends, pb)
	}
	return &proxyconfig.Config{
		Listeners: []proxyconfig.Listener{{Address: "127.0.0.1:0", Service: "web"}},
		Services:  []proxyconfig.Service{svc},
	}
}

// TestHopClosedBeforeAnsweringIsRetried: a hop that closes (or resets) before
// answering is retried on another backend, hop or not, without the client
// noticing, and five such connections eject it.
func TestHopClosedBeforeAnsweringIsRetried(t *testing.T) {
	for _, tc := range []struct {
		name    string
		dead    func(*testing.T) (string, *atomic.Int64)
		goodHop bool
	}{
		{"close/good-hop", closingHop, true},
		{"close/good-direct", closingHop, false},
		{"reset/good-hop", resettingHop, true},
		{"reset/good-direct", resettingHop, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			deadAddr, deadConns := tc.dead(t)
			good := startBackend(t, "good")
			e, addr := startEngine(t, hopConfig(target{"dead", deadAddr, true}, target{"good", good.addr(), tc.goodHop}), nil)
			requests := 0
			for backendStats(e, "dead").Failed < 5 {
				if requests++; requests > 50 {
					t.Fatalf("dead hop picked %d times in 50 requests", backendStats(e, "dead").Failed)
				}
				if body, err := get(addr); err != nil || body != "good" {
					t.Fatalf("request %d: %q, %v; want the healthy backend's answer", requests, body, err)
				}
			}
			st := backendStats(e, "dead")
			if st.Failed != 5 || !st.Ejected || st.Healthy || st.Total != 0 {
				t.Fatalf("dead hop after %d requests: %+v, want 5 failures and ejection", requests, st)
			}
			before := deadConns.Load()
			for i := range 10 {
				if body, err := get(addr); err != nil || body != "good" {
					t.Fatalf("request after ejection %d: %q, %v", i, body, err)
				}
			}
			if n := deadConns.Load() - before; n != 0 {
				t.Fatalf("ejected hop got %d more connections", n)
			}
			waitFor(t, "connections to end", func() bool { return backendStats(e, "good").Active == 0 })
			if st := backendStats(e, "good"); st.Failed != 0 || st.Total != int64(requests+10) || st.BytesUp == 0 || st.BytesDown == 0 {
				t.Fatalf("good backend after %d requests: %+v", requests+10, st)
			}
			if u := e.Stats()[0].Unserved; u != 0 {
				t.Fatalf("%d connections unserved", u)
			}
		})
	}
}

// TestHopAllClosedIsUnserved: when every hop closes before answering, the
// client connection is refused (reset) and counted as unserved.
func TestHopAllClosedIsUnserved(t *testing.T) {
	a, _ := closingHop(t)
	b, _ := resettingHop(t)
	e, addr := startEngine(t, hopConfig(target{"a", a, true}, target{"b", b, true}), nil)
	if body, err := get(addr); err == nil {
		t.Fatalf("got %q from hops that all closed", body)
	}
	waitFor(t, "unserved count", func() bool { return e.Stats()[0].Unserved == 1 })
	if fa, fb := backendStats(e, "a").Failed, backendStats(e, "b").Failed; fa != 1 || fb != 1 {
		t.Fatalf("failures a=%d b=%d, want one each", fa, fb)
	}
}

// TestHopHalfCloseWhileBuffering: the client half-closes before the hop
// answered; the half-close is passed on and the answer still comes. Then
// the same through a committed connection (TestHalfClose through a hop).
func TestHopHalfCloseWhileBuffering(t *testing.T) {
	cfg := echoConfig(echoBackend(t))
	cfg.Services[0].Backends[0].Network = proxyconfig.NetworkTailnet
	e, addr := startEngine(t, cfg, nil)

	halfCloseExchange(t, addr, nil, "only")
	halfCloseExchange(t, addr, []string{"hello"}, "partial")
	if st := e.Stats()[0].Backends[0]; st.Failed != 0 || st.Ejected {
		t.Fatalf("healthy hop: %+v", st)
	}
}

// TestHopConnectAndCloseIsNotAFailure: clients that connect and close without
// a byte (port probes) get the hop's close, which answers their end of input:
// no failure, no ejection, no retry.
func TestHopConnectAndCloseIsNotAFailure(t *testing.T) {
	silent, conns := tcpServer(t, func(c *net.TCPConn) { io.Copy(io.Discard, c) })
	e, addr := startEngine(t, hopConfig(target{"silent", silent, true}), nil)
	for range 10 {
		c, r := dialTCP(t, addr)
		c.CloseWrite()
		if _, err := r.ReadByte(); err != io.EOF {
			t.Fatalf("read %v, want EOF", err)
		}
		c.Close()
	}
	waitFor(t, "connections to end", func() bool { return backendStats(e, "silent").Active == 0 })
	if st := backendStats(e, "silent"); st.Failed != 0 || st.Ejected || st.Total != 10 || conns.Load() != 10 {
		t.Fatalf("silent hop: %+v, %d connections; want 10 and no failure", st, conns.Load())
	}
}

// TestHopServerFirst: the hop speaks first; its greeting commits the
// connection at once.
func TestHopServerFirst(t *testing.T) {
	banner, _ := tcpServer(t, func(c *net.TCPConn) {
		io.WriteString(c, "220 ready\n")
		buf := make([]byte, 64)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			c.Write(append([]byte("echo "), buf[:n]...))
		}
	})
	e, addr := startEngine(t, hopConfig(target{"banner", banner, true}), nil)
	c, r := dialTCP(t, addr)
	expectLine(t, r, "220 ready\n")
	io.WriteString(c, "x\n")
	expectLine(t, r, "echo x\n")
	if st := backendStats(e, "banner"); st.Failed != 0 {
		t.Fatalf("server-first hop: %+v", st)
	}
}

// TestHopLargeUpload: more than the replay buffer to a healthy hop, both to
// one that answers only after the whole upload (commit by overflow) and to
// one that echoes from the first byte (commit while the upload is in
// flight); every byte arrives in order.
func TestHopLargeUpload(t *testing.T) {
	data := make([]byte, 3<<20+77)
	rand.Read(data)
	sink, _ := tcpServer(t, func(c *net.TCPConn) {
		n, _ := io.Copy(io.Discard, c)
		fmt.Fprintf(c, "got %d\n", n)
	})
	echo, _ := tcpServer(t, func(c *net.TCPConn) { io.Copy(c, c) })
	e, addr := startEngine(t, hopConfig(target{"sink", sink, true}, target{"echo", echo, true}), nil)

	// Round-robin: the first connection goes to sink, the second to echo.
	c, r := dialTCP(t, addr)
	go func() {
		c.Write(data)
		c.CloseWrite()
	}()
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	expectLine(t, r, fmt.Sprintf("got %d\n", len(data)))

	c, _ = dialTCP(t, addr)
	if got, err := echoInChunks(c, data, 10, 70000); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("echo hop: read %d bytes (%v), want the %d sent back intact", len(got), err, len(data))
	}
	waitFor(t, "connections to end", func() bool {
		return backendStats(e, "sink").Active == 0 && backendStats(e, "echo").Active == 0
	})
	for _, name := range []string{"sink", "echo"} {
		if st := backendStats(e, name); st.Failed != 0 || st.Total != 1 || st.BytesUp != int64(len(data)) {
			t.Fatalf("%s: %+v, want one connection and %d bytes up", name, st, len(data))
		}
	}
}

// TestUnservedConnectionIsReset: a proxy that cannot reach any backend
// resets the client connection, so that a proxy in front of it (whose dial
// succeeded) learns plainly that the connection was refused.
func TestUnservedConnectionIsReset(t *testing.T) {
	dead := startBackend(t, "dead")
	_, addr := startEngine(t, serviceConfig(proxyconfig.StrategyRoundRobin, dead), nil)
	dead.kill()
	// The reset may overtake the end of the client's connect(2).
	c, err := net.Dial("tcp", addr)
	if err == nil {
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err = c.Read(make([]byte, 1))
	}
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("got %v, want a reset", err)
	}
}

// TestHopHardStopWhileBuffering: a hard stop closes a connection that waits
// for a hop's first byte.
func TestHopHardStopWhileBuffering(t *testing.T) {
	mute, conns := tcpServer(t, func(c *net.TCPConn) { io.Copy(io.Discard, c) })
	cfg := hopConfig(target{"mute", mute, true})
	cfg.Default()
	e := newEngine(t, cfg, Options{})
	c, r := dialTCP(t, e.Addr("127.0.0.1:0").String())
	io.WriteString(c, "anyone?\n")
	waitFor(t, "the hop's connection", func() bool { return conns.Load() == 1 })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := e.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown = %v, want the context's error", err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := r.ReadByte(); err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("read %v, want the connection closed", err)
	}
}

// TestRemoteProxyBackendKilledUnderLoad is the end-to-end shape on loopback:
// a VIP service host balances over two pool machines (engines, dialed as
// hops), each forwarding to its own backend. One backend dies under load
// (20 clients, a new connection per request); its machine still accepts,
// then refuses. Every request must succeed, and the host must eject that
// machine.
func TestRemoteProxyBackendKilledUnderLoad(t *testing.T) {
	a, b := startBackend(t, "a"), startBackend(t, "b")
	_, remoteA := startEngine(t, serviceConfig(proxyconfig.StrategyRoundRobin, a), nil)
	remoteBEngine, remoteB := startEngine(t, serviceConfig(proxyconfig.StrategyRoundRobin, b), nil)
	host, addr := startEngine(t, hopConfig(target{"pool-a", remoteA, true}, target{"pool-b", remoteB, true}), nil)

	answers := loadWithKill(t, addr, 20, 50, b.kill, "a", "b")
	if answers["b"] == 0 {
		t.Fatal("pool b served nothing before its backend died")
	}
	st := backendStats(host, "pool-b")
	if st.Failed < 5 || !st.Ejected || st.Healthy {
		t.Fatalf("host's view of pool-b: %+v, want failures and ejection", st)
	}
	t.Logf("pool-b: %d connections closed before answering, retried on pool-a; pool-b refused %d",
		st.Failed, remoteBEngine.Stats()[0].Unserved)
}

package proxy

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/tailscale-gateway/tailscale-gateway/internal/proxyconfig"
)

// Benchmarks of the forwarding hot paths through a real Engine on loopback.
// Client, engine and backends share the machine, so absolute numbers include
// the client's and the backend's cost; compare runs with benchstat.

const benchMsg = 128 // bytes per request and per response, like a small HTTP exchange

// rrBackend answers every benchMsg-byte request with benchMsg bytes, and
// closes when the client does.
func rrBackend(b *testing.B) string {
	return benchBackend(b, func(c net.Conn) {
		buf := make([]byte, benchMsg)
		for {
			if _, err := io.ReadFull(c, buf); err != nil {
				return
			}
			if _, err := c.Write(buf); err != nil {
				return
			}
		}
	})
}

// echoStreamBackend sends back everything it receives.
func echoStreamBackend(b *testing.B) string {
	return benchBackend(b, func(c net.Conn) { io.Copy(c, c) })
}

func benchBackend(b *testing.B, handle func(net.Conn)) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	b.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				handle(c)
			}()
		}
	}()
	return ln.Addr().String()
}

func benchEngine(b *testing.B, backends ...string) string {
	b.Helper()
	return benchEngineNetwork(b, "", backends...)
}

// benchEngineNetwork is benchEngine with the backends on network: with
// proxyconfig.NetworkTailnet they are hops (dialed over loopback all the
// same), whose connections start with a buffering phase.
func benchEngineNetwork(b *testing.B, network string, backends ...string) string {
	b.Helper()
	cfg := &proxyconfig.Config{
		Listeners: []proxyconfig.Listener{{Address: "127.0.0.1:0", Service: "bench"}},
		Services:  []proxyconfig.Service{{Name: "bench", Strategy: proxyconfig.StrategyRoundRobin}},
	}
	for i, a := range backends {
		cfg.Services[0].Backends = append(cfg.Services[0].Backends, proxyconfig.Backend{Name: fmt.Sprint("b", i), Address: a, Network: network})
	}
	cfg.Default()
	if err := cfg.Validate(); err != nil {
		b.Fatal(err)
	}
	e := newEngine(b, cfg, Options{})
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		e.Shutdown(ctx)
	})
	return e.Addr("127.0.0.1:0").String()
}

// BenchmarkRoundTrip is the keep-alive case: small request, small response,
// on long-lived connections (per-message cost of the copy loop).
func BenchmarkRoundTrip(b *testing.B) {
	addr := benchEngine(b, rrBackend(b), rrBackend(b), rrBackend(b))
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		buf := make([]byte, benchMsg)
		for pb.Next() {
			if _, err := c.Write(buf); err != nil {
				b.Error(err)
				return
			}
			if _, err := io.ReadFull(c, buf); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkConnect is the Connection: close case: a new client connection
// (accept, pick, dial, two copy directions, half-closes, close) per exchange.
func BenchmarkConnect(b *testing.B) {
	benchConnect(b, benchEngine(b, rrBackend(b), rrBackend(b), rrBackend(b)))
}

// BenchmarkConnectHop is BenchmarkConnect to hops: the cost of the
// buffering phase (serveHop) per connection.
func BenchmarkConnectHop(b *testing.B) {
	benchConnect(b, benchEngineNetwork(b, proxyconfig.NetworkTailnet, rrBackend(b), rrBackend(b), rrBackend(b)))
}

func benchConnect(b *testing.B, addr string) {
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		buf := make([]byte, benchMsg)
		for pb.Next() {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				b.Error(err)
				return
			}
			if _, err = c.Write(buf); err == nil {
				_, err = io.ReadFull(c, buf)
			}
			c.Close()
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkBulk streams 64 KiB chunks through the proxy and back (per-byte
// cost: splice or copy in both directions).
func BenchmarkBulk(b *testing.B) {
	addr := benchEngine(b, echoStreamBackend(b))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	const chunk = 64 << 10
	b.SetBytes(2 * chunk) // up and down
	out, in := make([]byte, chunk), make([]byte, chunk)
	done := make(chan error, 1)
	b.ResetTimer()
	go func() {
		for range b.N {
			if _, err := c.Write(out); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for range b.N {
		if _, err := io.ReadFull(c, in); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}

// BenchmarkBulkNoSplice is BenchmarkBulk with the switch to splice off: the
// comparison that justifies the switch.
func BenchmarkBulkNoSplice(b *testing.B) {
	noSpliceBulk.Store(true)
	defer noSpliceBulk.Store(false)
	BenchmarkBulk(b)
}

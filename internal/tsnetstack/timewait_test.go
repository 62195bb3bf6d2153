package tsnetstack_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tailscale.com/tsnet"

	"github.com/tailscale-gateway/tailscale-gateway/internal/lab"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tsnetstack"
)

func TestShortenTimeWaitNeedsAStartedNode(t *testing.T) {
	if err := tsnetstack.ShortenTimeWait(&tsnet.Server{}); err == nil {
		t.Fatal("no error for a node that was never started")
	}
}

// TestNoConnectStallsAfterServerCloses: many short connections between two
// lab nodes (which NewNode gives ShortenTimeWait), the server closing
// first, so that its side of each ends in TIME-WAIT and the client's random
// source ports meet those often. Without ShortenTimeWait, 34 of these 2000
// connects hung (the SYN dropped by the TIME-WAIT endpoint until it
// expired); with it, none, and the 2000 exchanges take under a second.
func TestNoConnectStallsAfterServerCloses(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	l, err := lab.Start(ctx, lab.Options{NoSOCKS5: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	client, server := newNode(ctx, t, l, "tw-client"), newNode(ctx, t, l, "tw-server")
	ln, err := server.Listen("tcp", ":80")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go serveOneLineAndClose(ln)

	ip4, _ := server.TailscaleIPs()
	addr := net.JoinHostPort(ip4.String(), "80")
	// First one exchange: the nodes' first WireGuard handshake can take a
	// retry (5 s) when one node learns of the other a moment late, which
	// would stall the burst's first connects for reasons of its own.
	warmUp(ctx, t, client, addr)
	const workers, perWorker = 8, 250
	var stalls, failures atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range perWorker {
				switch err := exchange(ctx, client, addr); {
				case err == errStall:
					stalls.Add(1)
				case err != nil:
					failures.Add(1)
					t.Errorf("connection failed: %v", err)
				}
			}
		})
	}
	wg.Wait()
	if n := stalls.Load(); n > 0 {
		t.Errorf("%d of %d connects got no answer within %s", n, workers*perWorker, dialTimeout)
	}
}

const dialTimeout = 3 * time.Second

func warmUp(ctx context.Context, t *testing.T, client *tsnet.Server, addr string) {
	t.Helper()
	for {
		err := exchange(ctx, client, addr)
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("no exchange with %s: %v", addr, err)
		}
	}
}

var errStall = fmt.Errorf("connect got no answer within %s", dialTimeout)

// exchange connects, sends a line and reads the server's line.
func exchange(ctx context.Context, client *tsnet.Server, addr string) error {
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	c, err := tsnetstack.DialTailnet(dctx, client, "tcp", addr)
	if err != nil {
		if dctx.Err() != nil {
			return errStall
		}
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(dialTimeout))
	if _, err := fmt.Fprintf(c, "hello\n"); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != "ok\n" {
		return fmt.Errorf("answer %q: %v", line, err)
	}
	return nil
}

func serveOneLineAndClose(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close() // first: the server's side goes to TIME-WAIT
			c.SetDeadline(time.Now().Add(dialTimeout))
			if _, err := bufio.NewReader(c).ReadString('\n'); err == nil {
				fmt.Fprintf(c, "ok\n")
			}
		}()
	}
}

func newNode(ctx context.Context, t *testing.T, l *lab.Lab, name string) *tsnet.Server {
	t.Helper()
	n, err := l.NewNode(ctx, lab.NodeOptions{Hostname: name, Ephemeral: true})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

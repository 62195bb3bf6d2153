package eventloop

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Group is the event loops: they serve host-network listeners whose
// backends are IP addresses (standalone mode), the way HAProxy and Envoy
// do: a few goroutines, one per core, each with its own epoll set, carry
// every connection from accept to close with non-blocking raw system calls.
//
// Why not a goroutine per connection, as for tsnet listeners? Measured under
// connection-per-request load, Go's net package spent about a third more CPU
// per connection than HAProxy: it registers every socket with the runtime's
// poller and removes it again, asks the kernel for addresses nobody reads
// (getsockname, getpeername, SO_ERROR), reads until EAGAIN before each wait,
// and wakes goroutines across threads for every message. A loop asks only
// for what the relay needs, and with edge-triggered epoll and EPOLLRDHUP it
// knows when a short read drained a socket and when a peer shut down.
//
// A connection's two sockets belong to one loop for its whole life, so
// connection state needs no locks; the engine talks to a loop only through
// its command queue.
type Group struct {
	e     Engine
	cfg   Config
	loops []*loop
}

// New starts cfg.Loops loops serving for e.
func New(e Engine, cfg Config) (*Group, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	g := &Group{e: e, cfg: cfg}
	for range max(1, cfg.Loops) {
		lp, err := newLoop(g)
		if err != nil {
			for _, lp := range g.loops {
				lp.discard()
			}
			return nil, err
		}
		g.loops = append(g.loops, lp)
	}
	for _, lp := range g.loops {
		go lp.run()
	}
	return g, nil
}

// Listen opens a listening socket on address; Serve starts accepting on it.
func (g *Group) Listen(address string) (*Listener, error) {
	fd, addr, err := listenSocket(address, g.cfg.ListenerOptions)
	if err != nil {
		return nil, err
	}
	return &Listener{fd: fd, addr: addr, address: address}, nil
}

// Serve starts accepting on ll in every loop. Each loop is told of every
// waiting connection; the first to accept takes it, the others find the
// queue empty. (EPOLLEXCLUSIVE, which wakes only the first loop asleep in
// epoll_wait, measured no different under connection-per-request load.)
func (g *Group) Serve(ll *Listener) error {
	return g.each(func(lp *loop) error { return lp.addListener(ll) })
}

// Unserve stops every loop accepting on ll and closes it. Connections it
// accepted go on, and so do those whose handshake the kernel completed but
// no loop had accepted yet: closing a listening socket resets its accept
// queue, and to their clients those are connections the proxy dropped. Once
// no loop accepts on ll, one loop takes what is queued and closes ll at
// once, leaving the kernel the few microseconds between the two to queue
// another (test/faults/termination counts what that race still loses).
func (g *Group) Unserve(ll *Listener) {
	g.each(func(lp *loop) error { lp.removeListener(ll); return nil })
	lp := g.loops[0]
	done := make(chan struct{})
	lp.post(func() {
		lp.takeQueued(ll)
		unix.Close(ll.fd)
		close(done)
	})
	<-done
}

// AbortAll closes every connection of every loop (a hard stop).
func (g *Group) AbortAll() {
	g.each(func(lp *loop) error { lp.abortAll(); return nil })
}

// Close stops the loops and frees their descriptors.
func (g *Group) Close() {
	for _, lp := range g.loops {
		lp.stop()
	}
}

// balanceSlack is how many more connections than the least loaded loop a
// loop carries before it passes new ones on. Which loop accepts is up to
// the kernel, and long-lived connections would otherwise stay as unevenly
// spread as they came: connections opened one after the other all landed
// on one loop.
const balanceSlack = 2

// settleAge is how old a connection must be to count as long-lived.
// Passing connections between loops pays only when some are: with a
// connection per request the loops' loads swing from moment to moment,
// and passing by them moved 40-56 % of connections at a cost of 5 % of
// req/s and 6 % more CPU per request.
const settleAge = time.Second

// lessLoaded returns the loop that should carry a connection from's
// accepted instead of from, or nil if from should carry it.
func (g *Group) lessLoaded(from *loop) *loop {
	if !g.anyLongLived() {
		return nil
	}
	least := from
	for _, lp := range g.loops {
		if lp.load.Load() < least.load.Load() {
			least = lp
		}
	}
	if from.load.Load()-least.load.Load() < balanceSlack {
		return nil
	}
	return least
}

func (g *Group) anyLongLived() bool {
	for _, lp := range g.loops {
		if lp.longLived.Load() {
			return true
		}
	}
	return false
}

// Ping asks every loop to answer through its command queue, and fails
// when one has not by ctx's deadline: a loop that stops answering (stuck
// in a handler, or exited after an epoll error) no longer serves its
// connections, which only a restart repairs.
func (g *Group) Ping(ctx context.Context) error {
	answered := make([]chan struct{}, len(g.loops))
	for i, lp := range g.loops {
		select {
		case <-lp.finished: // a stopped loop runs commands at once: ask first
			return fmt.Errorf("event loop %d of %d has stopped", i+1, len(g.loops))
		default:
		}
		answered[i] = make(chan struct{})
		lp.post(func() { close(answered[i]) })
	}
	for i, ch := range answered {
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("event loop %d of %d did not answer: %w", i+1, len(g.loops), ctx.Err())
		}
	}
	return nil
}

// each runs f on every loop's goroutine and waits for all of them.
func (g *Group) each(f func(*loop) error) error {
	errs := make([]error, len(g.loops))
	var wg sync.WaitGroup
	for i, lp := range g.loops {
		wg.Add(1)
		lp.post(func() { errs[i] = f(lp); wg.Done() })
	}
	wg.Wait()
	return errors.Join(errs...)
}

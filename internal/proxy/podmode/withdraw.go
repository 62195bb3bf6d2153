package podmode

import (
	"context"
	"net"
	"sync/atomic"
	"time"

	"tailscale.com/ipn"
)

// Withdrawing a VIP service without refusing anyone. A stopping proxy
// first stops advertising its VIP services while it keeps serving them:
// the tailnet needs a moment to send new clients to another host (the
// coordination server picks one and every client's netmap must learn
// it), and connections sent here meanwhile would otherwise be refused.
// Once no new connection has arrived for withdrawQuiet, or withdrawGrace
// has passed, the listeners close and the drain begins. Closing them at
// once, as before, refused new connections for about a second whenever
// the VIP service's host was deleted on a real node.
const (
	withdrawQuiet = time.Second
	// withdrawGrace bounds the wait under steady traffic (it is part of
	// pool.ShutdownSlack).
	withdrawGrace = 5 * time.Second
)

// quietEnough says whether the withdrawal may end now, and if not, how
// long to wait before asking again. last is when the last VIP connection
// arrived (zero: none since start), start when the advertisement was
// withdrawn.
func quietEnough(start, last, now time.Time) (bool, time.Duration) {
	if now.Sub(start) >= withdrawGrace {
		return true, 0
	}
	since := start
	if last.After(start) {
		since = last
	}
	if idle := now.Sub(since); idle < withdrawQuiet {
		return false, min(withdrawQuiet-idle, withdrawGrace-now.Sub(start))
	}
	return true, 0
}

// unadvertise stops advertising every VIP service; the listeners, and the
// node's serve configuration behind them, stay.
func (m *machine) unadvertise(ctx context.Context) error {
	lc, err := m.node.LocalClient()
	if err != nil {
		return err
	}
	_, err = lc.EditPrefs(ctx, &ipn.MaskedPrefs{AdvertiseServicesSet: true})
	return err
}

// awaitQuiet waits until quietEnough says the VIP listeners may close.
func (m *machine) awaitQuiet(ctx context.Context) {
	start := time.Now()
	for {
		done, wait := quietEnough(start, m.net.lastVIPAccept(), time.Now())
		if done {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// acceptClock is a VIP service listener that records when it last
// accepted a connection.
type acceptClock struct {
	net.Listener
	last *atomic.Int64 // Unix nanoseconds
}

func (l acceptClock) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.last.Store(time.Now().UnixNano())
	}
	return c, err
}

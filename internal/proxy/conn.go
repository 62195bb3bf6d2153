package proxy

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/tailscale-gateway/tailscale-gateway/internal/lb"
)

// accept serves one listener until it is closed.
func (e *Engine) accept(l *listener) {
	defer close(l.done)
	addr := l.ln.Addr().String()
	var backoff time.Duration
	for {
		c, err := l.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Temporary trouble such as EMFILE: back off instead of spinning.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			e.opts.Logger.Warn("accept failed", "listener", addr, "error", err, "retryIn", backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		l.accepts++
		tc := e.conns.track(c, l.accepts)
		if tc == nil {
			c.Close()
			continue
		}
		workers.run(func() { e.serve(tc, l.address) })
	}
}

// serve serves a client connection accepted on the listener whose
// ListenerKey is route.
func (e *Engine) serve(tc *trackedConn, route string) {
	defer e.conns.untrack(tc)
	c := tc.client
	svc := e.serviceFor(route)
	if svc == nil {
		c.Close()
		return
	}
	settings := svc.settings.Load()
	var a lb.Attempt
	m, cnt, up := e.dialBackend(svc, tc, &a, settings.connectTimeout)
	if up == nil {
		e.unserved(svc, c)
		return
	}
	var h *handoff
	if cnt.hop.Load() {
		if m, cnt, up, h = e.serveHop(svc, tc, &a, settings, m, cnt, up); up == nil {
			return
		}
	}
	defer svc.bal.Done(m)
	cnt.total.Add(1)
	cnt.active.Add(1)
	defer cnt.active.Add(-1)
	upBytes, downBytes := pipe(c, up, settings.idleTimeout, h)
	if h != nil {
		upBytes += h.sent
	}
	cnt.bytesUp.Add(upBytes)
	cnt.bytesDown.Add(downBytes)
}

// unserved refuses a client connection for which no backend could be
// dialed. The close is a reset where the conn allows it: when this proxy is
// a hop of another (a pool machine behind a VIP service host), a reset
// tells that proxy plainly that the connection was refused, and it retries
// elsewhere (serveHop; it also retries on a plain close).
func (e *Engine) unserved(svc *service, c net.Conn) {
	svc.unserved.Add(1)
	e.opts.Logger.Warn("no backend could be dialed; closing client connection",
		"service", svc.name, "client", c.RemoteAddr().String())
	closeRefused(c)
}

// closeRefused closes c with a reset (SO_LINGER 0) if it can. tsnet's
// gVisor conns cannot: they close with a FIN, or a reset if input was left
// unread (as on Linux).
func closeRefused(c net.Conn) {
	if l, ok := c.(interface{ SetLinger(sec int) error }); ok {
		l.SetLinger(0)
	}
	c.Close()
}

// serviceFor returns the service of the listener whose ListenerKey is
// route, or nil.
func (e *Engine) serviceFor(route string) *service {
	name, ok := (*e.routes.Load())[route]
	if !ok {
		return nil
	}
	return (*e.services.Load())[name]
}

// dialBackend picks and dials backends until one answers, trying each at
// most once per connection (a, which serveHop's retries share). It returns
// the member, its counters and the connection, or nils.
//
// Each dial gets its own timeout context. It is not derived from a
// cancellable engine context: every dial would then take that context's
// lock twice (register, unregister), one lock shared by all connections.
// A hard stop cancels the dial through tc instead.
func (e *Engine) dialBackend(svc *service, tc *trackedConn, a *lb.Attempt, timeout time.Duration) (*lb.Member, *counters, net.Conn) {
	for {
		m := svc.bal.Pick(a)
		if m == nil {
			return nil, nil, nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		var up net.Conn
		err := errStopped
		if e.conns.dialing(tc, cancel) {
			up, err = e.opts.Dial(ctx, "tcp", m.Backend().Address)
			if !e.conns.dialing(tc, nil) && err != nil {
				err = errStopped // cancelled by the hard stop, not the backend's fault
			}
		}
		cancel()
		cnt := svc.countersFor(m.Name())
		if err == nil {
			// A hop's dial proves little (see serveHop), which reports
			// its outcome once the hop answered.
			if !cnt.hop.Load() {
				reportSuccess(svc, m, cnt)
			}
			return m, cnt, up
		}
		svc.bal.Done(m)
		if errors.Is(err, errStopped) {
			return nil, nil, nil
		}
		reportFailure(svc, m, cnt, err)
		e.opts.Logger.Debug("dial failed; trying another backend", "service", svc.name,
			"backend", m.Name(), "error", err)
	}
}

// reportSuccess tells outlier detection that a backend took a connection.
// Successes matter to it only after a failure; skipping the rest keeps the
// monitor's lock off the hot path.
func reportSuccess(svc *service, m *lb.Member, cnt *counters) {
	if cnt.failStreak.Swap(0) != 0 {
		svc.mon.ReportDial(m.Name(), nil)
	}
}

// reportFailure counts a failed dial (or a hop that closed before
// answering) and feeds it to outlier detection.
func reportFailure(svc *service, m *lb.Member, cnt *counters, err error) {
	cnt.failStreak.Add(1)
	svc.mon.ReportDial(m.Name(), err)
	cnt.failed.Add(1)
}

func sortServices(s []ServiceStats) {
	slices.SortFunc(s, func(a, b ServiceStats) int { return strings.Compare(a.Name, b.Name) })
}

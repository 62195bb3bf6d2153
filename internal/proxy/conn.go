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
		go e.serve(tc, l)
	}
}

func (e *Engine) serve(tc *trackedConn, l *listener) {
	defer e.conns.untrack(tc)
	c := tc.client
	svc := e.serviceFor(l)
	if svc == nil {
		c.Close()
		return
	}
	settings := svc.settings.Load()
	m, cnt, up := e.dialBackend(svc, tc, settings.connectTimeout)
	if up == nil {
		svc.unserved.Add(1)
		e.opts.Logger.Warn("no backend could be dialed; closing client connection",
			"service", svc.name, "client", c.RemoteAddr().String())
		c.Close()
		return
	}
	defer svc.bal.Done(m)
	cnt.total.Add(1)
	cnt.active.Add(1)
	defer cnt.active.Add(-1)
	upBytes, downBytes := pipe(c, up, settings.idleTimeout)
	cnt.bytesUp.Add(upBytes)
	cnt.bytesDown.Add(downBytes)
}

func (e *Engine) serviceFor(l *listener) *service {
	name, ok := (*e.routes.Load())[l.address]
	if !ok {
		return nil
	}
	return (*e.services.Load())[name]
}

// dialBackend picks and dials backends until one answers, trying each at
// most once. It returns the member, its counters and the connection, or nils.
//
// Each dial gets its own timeout context. It is not derived from a
// cancellable engine context: every dial would then take that context's
// lock twice (register, unregister), one lock shared by all connections.
// A hard stop cancels the dial through tc instead.
func (e *Engine) dialBackend(svc *service, tc *trackedConn, timeout time.Duration) (*lb.Member, *counters, net.Conn) {
	var a lb.Attempt
	for {
		m := svc.bal.Pick(&a)
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
			// Successes matter to outlier detection only after a failure;
			// skipping the rest keeps the monitor's lock off the hot path.
			if cnt.failStreak.Swap(0) != 0 {
				svc.mon.ReportDial(m.Name(), nil)
			}
			return m, cnt, up
		}
		svc.bal.Done(m)
		if errors.Is(err, errStopped) {
			return nil, nil, nil
		}
		cnt.failStreak.Add(1)
		svc.mon.ReportDial(m.Name(), err)
		cnt.failed.Add(1)
		e.opts.Logger.Debug("dial failed; trying another backend", "service", svc.name,
			"backend", m.Name(), "error", err)
	}
}

func sortServices(s []ServiceStats) {
	slices.SortFunc(s, func(a, b ServiceStats) int { return strings.Compare(a.Name, b.Name) })
}

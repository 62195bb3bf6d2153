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
		if !e.track(c) {
			c.Close()
			continue
		}
		go e.serve(c, l)
	}
}

// track registers a connection for draining; false once a hard stop began.
func (e *Engine) track(c net.Conn) bool {
	e.connsMu.Lock()
	defer e.connsMu.Unlock()
	if e.ctx.Err() != nil {
		return false
	}
	e.conns[c] = struct{}{}
	e.connsWG.Add(1)
	return true
}

func (e *Engine) untrack(c net.Conn) {
	e.connsMu.Lock()
	delete(e.conns, c)
	e.connsMu.Unlock()
	e.connsWG.Done()
}

func (e *Engine) serve(c net.Conn, l *listener) {
	defer e.untrack(c)
	svc := e.serviceFor(l)
	if svc == nil {
		c.Close()
		return
	}
	settings := svc.settings.Load()
	m, up := e.dialBackend(svc, settings.connectTimeout)
	if up == nil {
		svc.unserved.Add(1)
		e.opts.Logger.Warn("no backend could be dialed; closing client connection",
			"service", svc.name, "client", c.RemoteAddr().String())
		c.Close()
		return
	}
	defer svc.bal.Done(m)
	cnt := svc.countersFor(m.Name())
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
// most once. It returns the member and connection, or nils.
func (e *Engine) dialBackend(svc *service, timeout time.Duration) (*lb.Member, net.Conn) {
	var a lb.Attempt
	for {
		m := svc.bal.Pick(&a)
		if m == nil {
			return nil, nil
		}
		ctx, cancel := context.WithTimeout(e.ctx, timeout)
		up, err := e.opts.Dial(ctx, "tcp", m.Backend().Address)
		cancel()
		cnt := svc.countersFor(m.Name())
		if err == nil {
			// Successes matter to outlier detection only after a failure;
			// skipping the rest keeps the monitor's lock off the hot path.
			if cnt.failStreak.Swap(0) != 0 {
				svc.mon.ReportDial(m.Name(), nil)
			}
			return m, up
		}
		cnt.failStreak.Add(1)
		svc.mon.ReportDial(m.Name(), err)
		cnt.failed.Add(1)
		svc.bal.Done(m)
		e.opts.Logger.Debug("dial failed; trying another backend", "service", svc.name,
			"backend", m.Name(), "error", err)
	}
}

func sortServices(s []ServiceStats) {
	slices.SortFunc(s, func(a, b ServiceStats) int { return strings.Compare(a.Name, b.Name) })
}

package proxy

import (
	"context"
	"net"

	"github.com/tailscale-gateway/tailscale-gateway/internal/eventloop"
	"github.com/tailscale-gateway/tailscale-gateway/internal/lb"
)

// eventLoops serve host-network listeners without a goroutine per
// connection (internal/eventloop, Linux only).
type eventLoops interface {
	Listen(address string) (*eventloop.Listener, error)
	Serve(ll *eventloop.Listener) error // accept on ll from now on
	Unserve(ll *eventloop.Listener)     // stop accepting on ll and close it
	AbortAll()                          // close every connection (hard stop)
	Ping(ctx context.Context) error     // every loop answers its command queue
	Close()                             // stop the loops
}

// loopEngine is the Engine as the event loops see it (eventloop.Engine). A
// type of its own, so that what the loops call stays out of the Engine's
// API.
type loopEngine Engine

func (le *loopEngine) Route(address string) (eventloop.Service, eventloop.Settings) {
	svc := (*Engine)(le).serviceFor(address)
	if svc == nil {
		return nil, eventloop.Settings{}
	}
	s := svc.settings.Load()
	return (*loopService)(svc), eventloop.Settings{
		ConnectTimeout: s.connectTimeout, IdleTimeout: s.idleTimeout, IPBackends: s.ipBackends}
}

func (le *loopEngine) HandOff(address string, conn net.Conn, seq uint32) {
	e := (*Engine)(le)
	tc := e.conns.track(conn, seq)
	if tc == nil {
		conn.Close()
		return
	}
	workers.run(func() { e.serve(tc, address) })
}

func (le *loopEngine) Opened()          { le.conns.wg.Add(1) }
func (le *loopEngine) Closed()          { le.conns.wg.Done() }
func (le *loopEngine) SpliceBulk() bool { return !noSpliceBulk.Load() }

// loopService is a service as the event loops see it (eventloop.Service).
// Its Counters are the backend's *counters.
type loopService service

func (s *loopService) Name() string                  { return s.name }
func (s *loopService) Pick(a *lb.Attempt) *lb.Member { return s.bal.Pick(a) }
func (s *loopService) Done(m *lb.Member)             { s.bal.Done(m) }
func (s *loopService) Unserved()                     { s.unserved.Add(1) }

func (s *loopService) Counters(m *lb.Member) eventloop.Counters {
	return (*service)(s).countersFor(m.Name())
}

func (s *loopService) DialFailed(m *lb.Member, c eventloop.Counters, err error) {
	reportFailure((*service)(s), m, c.(*counters), err)
}

func (s *loopService) Established(m *lb.Member, c eventloop.Counters) {
	cnt := c.(*counters)
	reportSuccess((*service)(s), m, cnt)
	cnt.total.Add(1)
	cnt.active.Add(1)
}

func (s *loopService) Ended(c eventloop.Counters, bytesUp, bytesDown int64) {
	cnt := c.(*counters)
	cnt.active.Add(-1)
	cnt.bytesUp.Add(bytesUp)
	cnt.bytesDown.Add(bytesDown)
}

package proxy

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
)

// errStopped ends a dial that a hard stop overtook.
var errStopped = errors.New("engine stopped")

// connShards spreads the live-connection registry over locks, so that
// accepting and closing connections on different cores do not queue on one
// mutex. A power of two.
const connShards = 32

// connSet tracks client connections for Shutdown: it waits for them to end
// and, at a hard stop, closes them and cancels their backend dials.
type connSet struct {
	stopped atomic.Bool
	wg      sync.WaitGroup
	shards  [connShards]connShard
}

type connShard struct {
	mu    sync.Mutex
	conns map[*trackedConn]struct{}
	_     [64]byte // keep shards' locks on separate cache lines
}

// trackedConn is one client connection in a connSet.
type trackedConn struct {
	client net.Conn
	shard  *connShard
	cancel context.CancelFunc // the backend dial in flight; guarded by shard.mu
}

func (s *connSet) init() {
	for i := range s.shards {
		s.shards[i].conns = map[*trackedConn]struct{}{}
	}
}

// track registers a connection; nil once a hard stop began. seq picks the
// shard (any number that varies between connections).
func (s *connSet) track(c net.Conn, seq uint32) *trackedConn {
	sh := &s.shards[seq%connShards]
	tc := &trackedConn{client: c, shard: sh}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if s.stopped.Load() {
		return nil
	}
	sh.conns[tc] = struct{}{}
	s.wg.Add(1)
	return tc
}

func (s *connSet) untrack(tc *trackedConn) {
	sh := tc.shard
	sh.mu.Lock()
	delete(sh.conns, tc)
	sh.mu.Unlock()
	s.wg.Done()
}

// dialing records the cancel function of tc's dial in flight (nil when it
// ended). It reports false if a hard stop began: do not dial.
func (s *connSet) dialing(tc *trackedConn, cancel context.CancelFunc) bool {
	sh := tc.shard
	sh.mu.Lock()
	defer sh.mu.Unlock()
	tc.cancel = cancel
	return !s.stopped.Load()
}

// wait returns once every tracked connection ended.
func (s *connSet) wait() { s.wg.Wait() }

// stop refuses new connections and dials, closes the tracked connections
// and cancels their dials. Idempotent.
func (s *connSet) stop() {
	s.stopped.Store(true)
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for tc := range sh.conns {
			tc.client.Close()
			if tc.cancel != nil {
				tc.cancel()
			}
		}
		sh.mu.Unlock()
	}
}

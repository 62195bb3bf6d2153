package lab

import (
	"sync"
	"time"

	"tailscale.com/tailcfg"
	"tailscale.com/types/key"
)

// sessions tracks which nodes are connected to control. testcontrol keeps
// every node that ever registered and has no notion of being online, so
// the lab watches map polls instead: a node is online while it holds a
// streaming map poll open, which ends when the node closes or dies.
type sessions struct {
	now    func() time.Time
	notify func() // wakes the router: something it may care about changed

	mu        sync.Mutex
	streams   map[key.NodePublic]int
	lastSeen  map[key.NodePublic]time.Time
	firstSeen map[key.NodePublic]time.Time
}

func newSessions(notify func()) *sessions {
	return &sessions{
		now:       time.Now,
		notify:    notify,
		streams:   map[key.NodePublic]int{},
		lastSeen:  map[key.NodePublic]time.Time{},
		firstSeen: map[key.NodePublic]time.Time{},
	}
}

// holdMapRequest is installed as testcontrol's HoldMapRequest. It never
// blocks; the returned func runs when testcontrol finishes the request:
// for a streaming poll when the node disconnects, for an update (which may
// carry a new Hostinfo, such as a changed ServicesHash) once it is stored.
func (s *sessions) holdMapRequest(req *tailcfg.MapRequest) (done func()) {
	nk := req.NodeKey
	streaming := req.Stream
	s.mu.Lock()
	s.touchLocked(nk)
	if streaming {
		s.streams[nk]++
	}
	s.mu.Unlock()
	if streaming {
		s.notify()
	}
	return func() {
		s.mu.Lock()
		s.touchLocked(nk)
		if streaming {
			s.streams[nk]--
		}
		s.mu.Unlock()
		s.notify()
	}
}

func (s *sessions) touchLocked(nk key.NodePublic) {
	now := s.now()
	s.lastSeen[nk] = now
	if _, ok := s.firstSeen[nk]; !ok {
		s.firstSeen[nk] = now
	}
}

// online reports whether nk holds a streaming map poll open.
func (s *sessions) online(nk key.NodePublic) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.streams[nk] > 0
}

// seen returns when nk first and last talked to control.
func (s *sessions) seen(nk key.NodePublic) (first, last time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.firstSeen[nk], s.lastSeen[nk]
}

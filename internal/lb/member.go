package lb

import "sync/atomic"

// Member is a backend's identity inside a Balancer. It survives updates that
// keep the backend's name, so connection counts are not lost on reload.
type Member struct {
	name    string
	backend atomic.Pointer[Backend]
	active  atomic.Int64

	// Least-connections bookkeeping, guarded by leastConn.mu.
	inHeap   atomic.Bool
	heapIdx  int
	lastPick uint64
}

// Name is the backend's name.
func (m *Member) Name() string { return m.name }

// Backend is the member's current configuration.
func (m *Member) Backend() *Backend { return m.backend.Load() }

// Active is the number of connections picked and not yet Done.
func (m *Member) Active() int64 { return m.active.Load() }

// Attempt remembers the backends one connection has already tried, so that a
// retry after a failed dial goes to another backend. The zero value is ready;
// it lives on the caller's stack, keeping picks allocation-free.
type Attempt struct {
	tried [MaxAttempts]*Member
	n     int
}

// MaxAttempts bounds how many backends one connection may try.
const MaxAttempts = 8

// Tries is how many backends have been picked so far.
func (a *Attempt) Tries() int { return a.n }

func (a *Attempt) has(m *Member) bool {
	for _, t := range a.tried[:a.n] {
		if t == m {
			return true
		}
	}
	return false
}

func (a *Attempt) add(m *Member) {
	a.tried[a.n] = m
	a.n++
}

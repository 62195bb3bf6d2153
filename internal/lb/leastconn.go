package lb

import (
	"container/heap"
	"sync"
)

// leastConn keeps the healthy members in a min-heap ordered by active
// connections, then by how long ago they were last picked, so that ties are
// served round-robin. Picks and releases are O(log n) under one mutex.
type leastConn struct {
	mu   sync.Mutex
	heap memberHeap
	seq  uint64
}

// reset replaces the heap's members, e.g. after a health change.
func (lc *leastConn) reset(members []*Member) {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	for _, m := range lc.heap {
		m.inHeap.Store(false)
	}
	lc.heap = append(lc.heap[:0], members...)
	for i, m := range lc.heap {
		m.heapIdx = i
		m.inHeap.Store(true)
	}
	heap.Init(&lc.heap)
}

// pick takes the least-loaded member and counts the new connection.
func (lc *leastConn) pick() *Member {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if len(lc.heap) == 0 {
		return nil
	}
	m := lc.heap[0]
	lc.seq++
	m.lastPick = lc.seq
	m.active.Add(1)
	heap.Fix(&lc.heap, 0)
	return m
}

// adjust changes a member's count, keeping the heap ordered if it is in it.
func (lc *leastConn) adjust(m *Member, delta int64) {
	if !m.inHeap.Load() {
		m.active.Add(delta)
		return
	}
	lc.mu.Lock()
	defer lc.mu.Unlock()
	m.active.Add(delta)
	if m.inHeap.Load() {
		heap.Fix(&lc.heap, m.heapIdx)
	}
}

type memberHeap []*Member

func (h memberHeap) Len() int { return len(h) }

func (h memberHeap) Less(i, j int) bool {
	ai, aj := h[i].active.Load(), h[j].active.Load()
	if ai != aj {
		return ai < aj
	}
	return h[i].lastPick < h[j].lastPick
}

func (h memberHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx = i
	h[j].heapIdx = j
}

// Push and Pop are never called: membership changes rebuild the heap.
func (h *memberHeap) Push(any) { panic("lb: memberHeap.Push is unused") }
func (h *memberHeap) Pop() any { panic("lb: memberHeap.Pop is unused") }

// leastConnPicker sends a connection to the healthy member with the fewest
// active connections, kept in the Balancer's heap.
type leastConnPicker struct{ lc *leastConn }

func (leastConnPicker) tiered() bool { return false }

func (leastConnPicker) build(s *snapshot) []*Member { return s.healthy }

// pick uses the heap for a first try only: on a retry its minimum is
// usually the member that just failed.
func (p leastConnPicker) pick(_ *snapshot, retry bool) (*Member, bool) {
	if retry {
		return nil, false
	}
	m := p.lc.pick()
	return m, m != nil
}

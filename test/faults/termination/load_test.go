package termination

import (
	"errors"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// traffic is every exchange the test ran against one proxy listener.
type traffic struct {
	addr string
	ids  *atomic.Uint64 // shared by all traffic of a test: ids are unique

	mu      sync.Mutex
	results []result
	// withdrawnAt is when the first dial was refused: the listening socket
	// was gone by then. withdrawn is closed at that moment.
	withdrawnAt time.Time
	withdrawn   chan struct{}

	shortDone atomic.Int64
	workers   sync.WaitGroup
	stop      chan struct{}
}

func newTraffic(t *testing.T, addr string, ids *atomic.Uint64) *traffic {
	tr := &traffic{addr: addr, ids: ids, withdrawn: make(chan struct{}), stop: make(chan struct{})}
	t.Cleanup(func() {
		close(tr.stop)
		tr.workers.Wait()
	})
	return tr
}

func (tr *traffic) record(r result) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.results = append(tr.results, r)
	if r.refused && tr.withdrawnAt.IsZero() {
		tr.withdrawnAt = r.ended
		close(tr.withdrawn)
	}
}

// stream is an exchange running in the background.
type stream struct {
	received atomic.Int64
	done     chan result
}

func (tr *traffic) start(kind string, upload, download int64) *stream {
	s := &stream{done: make(chan result, 1)}
	req := request{kind: kind, id: tr.ids.Add(1), upload: upload, download: download}
	go func() {
		r := exchange(tr.addr, req, &s.received)
		tr.record(r)
		s.done <- r
	}()
	return s
}

// arrivalsAfterRefusal is how many more connections each arrival worker
// opens once it was refused: all of them must be refused too.
const arrivalsAfterRefusal = 3

// startArrivals keeps n connections arriving one after the other per worker,
// each a short request of its own, until the worker was refused
// arrivalsAfterRefusal+1 times.
func (tr *traffic) startArrivals(n int) {
	for range n {
		tr.workers.Add(1)
		go func() {
			defer tr.workers.Done()
			refusals := 0
			for refusals <= arrivalsAfterRefusal {
				select {
				case <-tr.stop:
					return
				default:
				}
				id := tr.ids.Add(1)
				// Sizes vary with the id: some fit a segment, some span many.
				req := request{kind: kindShort, id: id, upload: 1 + int64(id*7919%(16<<10)), download: 1 + int64(id*104729%(64<<10))}
				r := exchange(tr.addr, req, nil)
				tr.record(r)
				if r.refused {
					refusals++
				} else if r.complete {
					tr.shortDone.Add(1)
				}
			}
		}()
	}
}

// waitArrivals waits for the arrival workers to stop by themselves.
func (tr *traffic) waitArrivals(t *testing.T, limit time.Duration) {
	t.Helper()
	done := make(chan struct{})
	go func() { tr.workers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(limit):
		ss, _ := exec.Command("ss", "-tanpo").CombinedOutput()
		t.Fatalf("%s: connections were still arriving and not refused %s later; in flight:\n%s\nss -tanpo:\n%s",
			tr.addr, limit, exchangesInFlight(tr.addr), ss)
	}
}

// summary is what happened to the connections of one listener.
type summary struct {
	refused, completed int
	// lostInQueue connected at the moment the listening socket closed
	// but never reached the proxy (see checkDrained).
	lostInQueue int
}

// checkDrained checks the exchanges of tr once all ended:
//   - every connection the proxy took on (the greeting came back) got every
//     byte, both ways, and ended cleanly;
//   - every dial begun after the first refusal was refused: the listening
//     socket stayed gone;
//   - nothing else went wrong, but for connections lost at the withdrawal.
//
// Closing a listening socket drops the handshakes it has not handed over
// yet: the connections completed but not accepted are reset, and so is one
// whose last handshake packet comes after the close (some network stacks,
// gVisor's among them, let it vanish without a reset; see dialer). The
// event loops accept what is queued right before closing
// (eventloop.Group.Unserve), which leaves the kernel microseconds to
// complete another: such a connection never reached the proxy, so no drain
// can keep it. One that connected at the moment of the withdrawal (within
// queueResetWindow) and got no greeting is counted as that; at any other
// time it fails the test.
func checkDrained(t *testing.T, tr *traffic) summary {
	t.Helper()
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var s summary
	for _, r := range tr.results {
		atWithdrawal := !tr.withdrawnAt.IsZero() && !r.connected.IsZero() &&
			r.connected.Sub(tr.withdrawnAt).Abs() < queueResetWindow
		switch {
		case !tr.withdrawnAt.IsZero() && r.started.After(tr.withdrawnAt) && !r.refused:
			t.Errorf("%s: %s %d began %s after the listener was withdrawn and was not refused (greeted %v, error %v)",
				tr.addr, r.kind, r.id, r.started.Sub(tr.withdrawnAt), r.greeted, r.err)
		case r.refused:
			s.refused++
		case r.complete:
			s.completed++
		case r.greeted:
			t.Errorf("%s: %s %d was accepted, then cut after %d bytes (%s after it began): %v",
				tr.addr, r.kind, r.id, r.received, r.ended.Sub(r.started), r.err)
		case atWithdrawal || r.connected.IsZero() && errors.Is(r.err, syscall.ECONNRESET) &&
			r.ended.Sub(tr.withdrawnAt).Abs() < queueResetWindow:
			s.lostInQueue++
			t.Logf("%s: %s %d never reached the proxy (connected %s, ended %s after the first refusal): %v",
				tr.addr, r.kind, r.id, sinceOrNever(r.connected, tr.withdrawnAt), r.ended.Sub(tr.withdrawnAt), r.err)
		default:
			t.Errorf("%s: %s %d never reached a backend: %v", tr.addr, r.kind, r.id, r.err)
		}
	}
	return s
}

// sinceOrNever formats t relative to ref ("never" for a zero t).
func sinceOrNever(t, ref time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Sub(ref).String() + " after the first refusal"
}

// queueResetWindow is how close to the first refusal a connection lost at
// the withdrawal was made (the client may be scheduled late on a busy
// machine).
const queueResetWindow = time.Second

// waitFor polls cond until it holds, failing the test after limit.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", limit, what)
		}
		time.Sleep(5 * time.Millisecond) // polling a condition
	}
}

// waitResult waits for a background exchange to end.
func waitResult(t *testing.T, s *stream, limit time.Duration) result {
	t.Helper()
	select {
	case r := <-s.done:
		return r
	case <-time.After(limit):
		t.Fatalf("an exchange still had not ended %s later", limit)
		return result{}
	}
}

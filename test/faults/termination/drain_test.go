package termination

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Load of the drain test, per listener.
const (
	longPerListener    = 4
	heldPerListener    = 8
	arrivalWorkers     = 8
	shortBeforeSIGTERM = 50
	// framesDuringDrain is how many frames each long stream must carry
	// after the listeners are gone before the test lets it end.
	framesDuringDrain = 10
)

// drainTimeout of the drain test: long enough that a proxy which exits
// only at its deadline fails clearly; nothing waits for it when the drain
// works.
const drainTimeout = 15 * time.Second

// TestSIGTERMUnderLoadDrainsThenExits stops the proxy while it carries long
// streams, requests a backend holds, and new connections arriving one after
// the other: its listeners must go at once, everything it accepted must
// finish with every byte, and it must exit by itself as soon as that is
// done, well before its drain timeout.
//
// The event loops and the goroutines count their connections for the drain
// in different places (internal/proxy/loops.go, connset.go), so the test
// runs twice: once with the event loops' connections ending last, once with
// the goroutines'.
func TestSIGTERMUnderLoadDrainsThenExits(t *testing.T) {
	t.Run("event loop connections end last", func(t *testing.T) { testDrainUnderLoad(t, true) })
	t.Run("goroutine connections end last", func(t *testing.T) { testDrainUnderLoad(t, false) })
}

// side is one listener of the proxy with its own backend, whose gates the
// test opens.
type side struct {
	name       string
	b          *backend
	tr         *traffic
	long, held []*stream
}

func testDrainUnderLoad(t *testing.T, loopsLast bool) {
	byIP := &side{name: "by IP (event loops)", b: startBackend(t, 2)}
	byName := &side{name: "by name (goroutines)", b: startBackend(t, 2)}
	p := startProxy(t, byIP.b, byName.b, drainTimeout)
	ids := &atomic.Uint64{}
	byIP.tr, byName.tr = newTraffic(t, p.byIP, ids), newTraffic(t, p.byName, ids)
	sides := []*side{byIP, byName}

	for _, s := range sides {
		for range longPerListener {
			s.long = append(s.long, s.tr.start(kindLong, 256<<10, 0))
		}
		for range heldPerListener {
			s.held = append(s.held, s.tr.start(kindHeld, 8<<10, 48<<10))
		}
	}
	for _, s := range sides {
		waitFor(t, 30*time.Second, s.name+": every long stream to flow", func() bool { return allReceived(s.long, 1) })
		waitFor(t, 30*time.Second, s.name+": every held request to reach the backend", func() bool {
			return s.b.heldWaiting.Load() == heldPerListener
		})
		s.tr.startArrivals(arrivalWorkers)
	}
	for _, s := range sides {
		waitFor(t, 30*time.Second, s.name+": short requests to flow", func() bool {
			return s.tr.shortDone.Load() >= shortBeforeSIGTERM
		})
	}

	stop := stopPod(p, scaledGrace(drainTimeout))

	// The listening sockets go first: new connections are refused.
	for _, s := range sides {
		select {
		case <-s.tr.withdrawn:
		case <-stop.done:
			t.Fatalf("%s: the proxy was gone (%s) before its listener was seen withdrawn", s.name, p.state)
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: still accepting connections 10s after SIGTERM", s.name)
		}
	}
	if code, err := p.readyz(); err != nil || code != http.StatusServiceUnavailable {
		t.Errorf("/readyz while draining: %d, %v; want 503", code, err)
	}

	// The long streams go on through the drain.
	for _, s := range sides {
		progress := make([]int64, len(s.long))
		for i, l := range s.long {
			progress[i] = l.received.Load()
		}
		waitFor(t, 10*time.Second, s.name+": every long stream to carry more frames after the withdrawal", func() bool {
			failIfExited(t, p)
			for i, l := range s.long {
				if l.received.Load() < progress[i]+framesDuringDrain*longFrameSize {
					return false
				}
			}
			return true
		})
	}

	// One side ends, then the other: held requests first, long streams
	// last. The proxy must stay for whatever is still open.
	first, last := byIP, byName
	if loopsLast {
		first, last = byName, byIP
	}
	finish(t, first)
	failIfExited(t, p)
	last.b.held.open()
	waitComplete(t, last.name, last.held)
	failIfExited(t, p)
	last.b.long.open()
	lastEnded := waitComplete(t, last.name, last.long)

	// Then the proxy exits by itself, well before its drain timeout.
	select {
	case <-stop.done:
	case <-time.After(2 * time.Second):
		t.Logf("the proxy is still there 2s after the last connection ended; what it holds:\n%s", p.connections())
		<-stop.done
	}
	if !stop.exitedByItself() {
		t.Fatalf("the proxy did not exit by itself: %s (killed at the grace period: %v)", p.state, stop.killed)
	}
	if after := stop.exitedAfter(); after >= drainTimeout {
		t.Errorf("the proxy exited %s after SIGTERM: it waited for its drain timeout (%s) although every connection had ended", after, drainTimeout)
	}
	if log := p.stderr.String(); !strings.Contains(log, "msg=drained") {
		t.Errorf("the proxy did not log that it drained")
	}
	t.Logf("exited %s after SIGTERM, %s after the last connection ended",
		stop.exitedAfter().Round(time.Millisecond), p.exitedAt.Sub(lastEnded).Round(time.Millisecond))

	for _, s := range sides {
		s.tr.waitArrivals(t, 10*time.Second)
		sum := checkDrained(t, s.tr)
		t.Logf("%s: withdrawn %s after SIGTERM; %d exchanges completed, %d refused, %d never reached the proxy",
			s.name, s.tr.withdrawnAt.Sub(stop.sigterm).Round(time.Microsecond), sum.completed, sum.refused, sum.lostInQueue)
	}
}

// finish lets a side's held requests, then its long streams, end, and
// checks that they complete.
func finish(t *testing.T, s *side) {
	t.Helper()
	s.b.held.open()
	waitComplete(t, s.name, s.held)
	s.b.long.open()
	waitComplete(t, s.name, s.long)
}

// waitComplete waits for streams to end and checks every byte of them; it
// returns when the last ended.
func waitComplete(t *testing.T, name string, streams []*stream) (lastEnded time.Time) {
	t.Helper()
	for _, s := range streams {
		r := waitResult(t, s, 10*time.Second)
		if !r.complete {
			t.Errorf("%s: %s exchange %d: %v", name, r.kind, r.id, r.err)
		}
		if r.ended.After(lastEnded) {
			lastEnded = r.ended
		}
	}
	return lastEnded
}

func allReceived(streams []*stream, atLeast int64) bool {
	for _, s := range streams {
		if s.received.Load() < atLeast {
			return false
		}
	}
	return true
}

func failIfExited(t *testing.T, p *proxyProcess) {
	t.Helper()
	if p.hasExited() {
		t.Fatalf("the proxy exited (%s) while connections were still open", p.state)
	}
}

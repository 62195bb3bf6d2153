package termination

import (
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
)

// scaledGrace is the grace period the operator gives a proxy pod
// (pool.TerminationGracePeriod), in proportion to a test's shorter drain
// timeout.
func scaledGrace(drainTimeout time.Duration) time.Duration {
	return time.Duration(float64(drainTimeout) * float64(pool.TerminationGracePeriod) / float64(pool.DrainTimeout))
}

// TestPoolShutdownFitsInTheGracePeriod: a proxy pod's whole shutdown (the
// drain, then withdrawing VIP services and reports) must end before the
// kubelet's SIGKILL, or a drain that runs to its timeout is cut short.
func TestPoolShutdownFitsInTheGracePeriod(t *testing.T) {
	if pool.DrainTimeout+pool.ShutdownSlack >= pool.TerminationGracePeriod {
		t.Errorf("DrainTimeout %s + ShutdownSlack %s >= TerminationGracePeriod %s",
			pool.DrainTimeout, pool.ShutdownSlack, pool.TerminationGracePeriod)
	}
}

// TestDrainTimeoutEndsLongConnectionsBeforeTheKill: connections that would
// outlast the grace period are closed by the proxy at its drain timeout, and
// the proxy exits by itself before the kubelet would SIGKILL it.
func TestDrainTimeoutEndsLongConnectionsBeforeTheKill(t *testing.T) {
	const drainTimeout = 3 * time.Second
	grace := scaledGrace(drainTimeout)
	b := startBackend(t, 2)
	p := startProxy(t, b, b, drainTimeout)
	long := startLongStreams(t, p, 4)

	stop := stopPod(p, grace)
	waitWithdrawn(t, p, stop.sigterm.Add(drainTimeout))
	waitGone(t, stop, grace)
	if !stop.exitedByItself() {
		t.Fatalf("the proxy did not exit by itself within the grace period %s: %s (killed: %v)", grace, p.state, stop.killed)
	}
	if after := stop.exitedAfter(); after < drainTimeout {
		t.Errorf("the proxy exited %s after SIGTERM, before its drain timeout %s, with connections open", after, drainTimeout)
	}
	if !strings.Contains(p.stderr.String(), "drain deadline reached") {
		t.Errorf("the proxy did not log that it closed connections at the drain deadline")
	}
	checkCutAt(t, long, stop.sigterm.Add(drainTimeout))
	checkNothingLeft(t, p, b)
}

// TestKubeletKillsADrainLongerThanTheGracePeriod: with a drain timeout
// beyond the grace period, the kubelet's SIGKILL ends the proxy mid-drain;
// the process is gone and no connection, client's or backend's, is left
// hanging.
func TestKubeletKillsADrainLongerThanTheGracePeriod(t *testing.T) {
	const drainTimeout = 10 * time.Minute
	const grace = 1500 * time.Millisecond
	b := startBackend(t, 2)
	p := startProxy(t, b, b, drainTimeout)
	long := startLongStreams(t, p, 4)

	stop := stopPod(p, grace)
	waitWithdrawn(t, p, stop.sigterm.Add(grace))
	waitGone(t, stop, grace)
	if !stop.killed || !stop.killedBySIGKILL() {
		t.Fatalf("the proxy ended with %s, want SIGKILL at the grace period", p.state)
	}
	if err := syscall.Kill(p.cmd.Process.Pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("the process is still there after SIGKILL: kill(pid, 0) = %v", err)
	}
	checkCutAt(t, long, stop.sigterm.Add(grace))
	checkNothingLeft(t, p, b)
}

// startLongStreams opens n streams per listener that last until the test
// ends, and waits until they all flow.
func startLongStreams(t *testing.T, p *proxyProcess, n int) []*stream {
	t.Helper()
	ids := &atomic.Uint64{}
	var long []*stream
	for _, addr := range []string{p.byIP, p.byName} {
		tr := newTraffic(t, addr, ids)
		for range n {
			long = append(long, tr.start(kindLong, 64<<10, 0))
		}
	}
	waitFor(t, 30*time.Second, "every long stream to flow", func() bool { return allReceived(long, 1) })
	return long
}

// waitWithdrawn waits until both listeners refuse connections while the
// proxy is still there, which must happen before deadline: the drain
// withdraws them first.
func waitWithdrawn(t *testing.T, p *proxyProcess, deadline time.Time) {
	t.Helper()
	for _, addr := range []string{p.byIP, p.byName} {
		for {
			c, err := net.DialTimeout("tcp", addr, time.Until(deadline))
			if err == nil {
				c.Close() // accepted before the withdrawal: nothing to carry
			}
			failIfExited(t, p)
			if errors.Is(err, syscall.ECONNREFUSED) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s still accepted connections when the drain should have ended (%v)", addr, err)
			}
		}
	}
}

// waitGone waits for the process to be gone, which the kubelet ensures at
// the grace period.
func waitGone(t *testing.T, stop *podStop, grace time.Duration) {
	t.Helper()
	select {
	case <-stop.done:
	case <-time.After(grace + 10*time.Second):
		t.Fatalf("the process was still there %s after SIGTERM, past SIGKILL", grace+10*time.Second)
	}
}

// checkCutAt checks that the long streams were carried until cut, not
// dropped at SIGTERM, and that each ended (none hangs).
func checkCutAt(t *testing.T, long []*stream, cut time.Time) {
	t.Helper()
	for _, s := range long {
		r := waitResult(t, s, 10*time.Second)
		if r.complete || !r.greeted {
			t.Errorf("long stream %d: complete %v, greeted %v, want cut after it flowed (%v)", r.id, r.complete, r.greeted, r.err)
		}
		if r.ended.Before(cut) {
			t.Errorf("long stream %d ended %s before it should have been cut: %v", r.id, cut.Sub(r.ended), r.err)
		}
	}
}

// checkNothingLeft checks that the listeners are gone and that the backend
// saw each of its connections end.
func checkNothingLeft(t *testing.T, p *proxyProcess, b *backend) {
	t.Helper()
	for _, addr := range []string{p.byIP, p.byName} {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err == nil {
			c.Close()
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("dialling %s after the proxy was gone: %v, want connection refused", addr, err)
		}
	}
	waitFor(t, 10*time.Second, "the backend's connections to end", func() bool {
		return b.activeHandlers.Load() == 0
	})
}

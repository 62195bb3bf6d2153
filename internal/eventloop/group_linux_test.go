package eventloop

import (
	"fmt"
	"testing"
)

// TestClientGoneWhileDialing: a client that resets while its backend
// connect hangs leaves nothing behind: the loop closes the connection, and
// the engine's shutdown has nothing to wait for. (A goroutine notices only
// when its dial ends.)
func TestClientGoneWhileDialing(t *testing.T) {
	e := newFakeEngine(t, unansweredBackend(t))
	g, addr := startLoops(t, e, 1)
	c, _ := dialTCP(t, addr)
	waitFor(t, "the backend dial", func() bool { return e.svc.failed.Load() == 0 && dialsInFlight(g) == 1 })
	c.SetLinger(0)
	c.Close() // a reset
	waitFor(t, "the connection closed", func() bool { return e.carried.Load() == 0 })
	if n := e.svc.failed.Load(); n != 0 {
		t.Errorf("%d dials counted as failed, want none: the client left, not the backend", n)
	}
}

// dialsInFlight counts the loops' connections still connecting.
func dialsInFlight(g *Group) int {
	n := 0
	g.each(func(lp *loop) error {
		for _, c := range lp.conns {
			if c.connecting {
				n++
			}
		}
		return nil
	})
	return n
}

// TestLoopsShareLongLivedConnections: however the kernel hands out
// accepts, once connections live long, new ones go to the less loaded
// loop until the loops carry as many.
func TestLoopsShareLongLivedConnections(t *testing.T) {
	e := newFakeEngine(t, echoBackend(t))
	g, addr := startLoops(t, e, 2)
	connect := func(from, to int) {
		for i := from; i < to; i++ {
			c, r := dialTCP(t, addr)
			fmt.Fprintf(c, "%d\n", i)
			expectLine(t, r, fmt.Sprintf("echo %d\n", i))
		}
	}
	connect(0, 20) // spread as the kernel likes: not balanced while short-lived
	waitFor(t, "connections older than settleAge", g.anyLongLived)
	connect(20, 40)
	least, most := int32(1<<30), int32(0)
	for _, lp := range g.loops {
		least, most = min(least, lp.load.Load()), max(most, lp.load.Load())
	}
	if most-least > balanceSlack {
		t.Fatalf("loops carry between %d and %d connections, want at most %d apart", least, most, balanceSlack)
	}
}

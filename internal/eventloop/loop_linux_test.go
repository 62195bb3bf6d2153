package eventloop

import (
	"fmt"
	"testing"
	"time"
)

// A loop blocks in epoll_wait without limit only when nothing has a
// deadline, and otherwise wakes no later than its next sweep.
func TestLoopWaitTimeout(t *testing.T) {
	busy := []*loopConn{{}}
	for _, tc := range []struct {
		name      string
		conns     []*loopConn
		paused    []pausedListener
		now, next time.Duration
		want      int
	}{
		{name: "idle", now: time.Second, next: 0, want: -1},
		{name: "sweep due", conns: busy, now: time.Second, next: time.Second, want: 0},
		{name: "sweep overdue", conns: busy, now: time.Second, next: 900 * time.Millisecond, want: 0},
		{name: "sweep in 50ms", conns: busy, now: time.Second, next: time.Second + sweepInterval, want: 50},
		{name: "rounded up", conns: busy, now: time.Second, next: time.Second + 300*time.Microsecond, want: 1},
		{name: "paused listener", paused: []pausedListener{{}}, now: 0, next: 20 * time.Millisecond, want: 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lp := &loop{conns: tc.conns, paused: tc.paused, now: tc.now, nextSweep: tc.next}
			if got := lp.waitTimeout(); got != tc.want {
				t.Errorf("waitTimeout() = %d, want %d", got, tc.want)
			}
		})
	}
}

// A loop passes through the scheduler once per yieldInterval, however
// often it wakes, so that sysmon never has to preempt it.
func TestLoopYieldsEveryInterval(t *testing.T) {
	lp := &loop{}
	var yields []time.Duration
	for now := time.Duration(0); now <= 20*time.Millisecond; now += 700 * time.Microsecond {
		lp.now = now
		if lp.yieldDue() {
			yields = append(yields, now)
		}
	}
	want := []time.Duration{5600 * time.Microsecond, 11200 * time.Microsecond, 16800 * time.Microsecond}
	if fmt.Sprint(yields) != fmt.Sprint(want) {
		t.Errorf("yielded at %v, want %v", yields, want)
	}
}

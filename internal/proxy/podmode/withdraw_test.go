package podmode

import (
	"testing"
	"time"
)

func TestQuietEnough(t *testing.T) {
	start := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return start.Add(d) }
	ms := time.Millisecond
	for _, tc := range []struct {
		name      string
		last, now time.Time
		done      bool
		wait      time.Duration
	}{
		{"no traffic: the quiet period from the withdrawal", time.Time{}, at(300 * ms), false, 700 * ms},
		{"no traffic, quiet period over", time.Time{}, at(time.Second), true, 0},
		{"a connection before the withdrawal counts as none", at(-time.Hour), at(time.Second), true, 0},
		{"a connection just now restarts the quiet period", at(1500 * ms), at(1800 * ms), false, 700 * ms},
		{"quiet after the last connection", at(1500 * ms), at(2500 * ms), true, 0},
		{"steady traffic ends at the grace", at(4990 * ms), at(5 * time.Second), true, 0},
		{"the wait never passes the grace", at(4800 * ms), at(4900 * ms), false, 100 * ms},
	} {
		t.Run(tc.name, func(t *testing.T) {
			done, wait := quietEnough(start, tc.last, tc.now)
			if done != tc.done || wait != tc.wait {
				t.Errorf("quietEnough = %v, %v; want %v, %v", done, wait, tc.done, tc.wait)
			}
		})
	}
}

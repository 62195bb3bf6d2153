package coordination_test

import (
	"testing"
	"time"

	"github.com/tailscale-gateway/tailscale-gateway/internal/coordination"
)

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func entry(op string, seen time.Time) coordination.Entry {
	return coordination.Entry{OperatorID: op, Object: "default/web", LastSeen: seen}
}

func TestAttachAndDetach(t *testing.T) {
	a, b, c := entry("a", t0), entry("b", t0.Add(time.Minute)), entry("c", t0.Add(2*time.Minute))
	owned := coordination.Registry{Owner: a}
	cases := []struct {
		name      string
		run       func() (coordination.Registry, bool)
		wantOwner string
		wantCons  []string
		wantEmpty bool
	}{
		{"a second operator attaches as consumer", func() (coordination.Registry, bool) {
			return coordination.Attach(owned, entry("b", time.Time{}), t0.Add(time.Minute)), false
		}, "a", []string{"b"}, false},
		{"attaching twice keeps one entry", func() (coordination.Registry, bool) {
			r := coordination.Attach(coordination.Registry{Owner: a, Consumers: []coordination.Entry{b}}, entry("b", time.Time{}), t0.Add(2*time.Minute))
			return r, false
		}, "a", []string{"b"}, false},
		{"the owner attaching stays owner", func() (coordination.Registry, bool) {
			return coordination.Attach(owned, entry("a", time.Time{}), t0.Add(time.Minute)), false
		}, "a", nil, false},
		{"a departing owner hands over to the oldest consumer", func() (coordination.Registry, bool) {
			return coordination.Detach(coordination.Registry{Owner: a, Consumers: []coordination.Entry{c, b}}, a, t0.Add(3*time.Minute))
		}, "b", []string{"c"}, false},
		{"a departing consumer leaves the rest", func() (coordination.Registry, bool) {
			return coordination.Detach(coordination.Registry{Owner: a, Consumers: []coordination.Entry{b, c}}, b, t0.Add(3*time.Minute))
		}, "a", []string{"c"}, false},
		{"the last one out empties it", func() (coordination.Registry, bool) {
			return coordination.Detach(owned, a, t0.Add(time.Minute))
		}, "", nil, true},
		{"stale entries expire and a live consumer takes over", func() (coordination.Registry, bool) {
			late := t0.Add(coordination.Expiry + time.Hour)
			return coordination.Attach(coordination.Registry{Owner: a, Consumers: []coordination.Entry{b}}, entry("c", time.Time{}), late), false
		}, "c", nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, empty := tc.run()
			if r.Owner.OperatorID != tc.wantOwner || empty != tc.wantEmpty {
				t.Errorf("owner %q empty %v; want %q %v", r.Owner.OperatorID, empty, tc.wantOwner, tc.wantEmpty)
			}
			var cons []string
			for _, e := range r.Consumers {
				cons = append(cons, e.OperatorID)
			}
			if len(cons) != len(tc.wantCons) {
				t.Fatalf("consumers %v, want %v", cons, tc.wantCons)
			}
			for i := range cons {
				if cons[i] != tc.wantCons[i] {
					t.Errorf("consumers %v, want %v", cons, tc.wantCons)
				}
			}
		})
	}
}

func TestRefreshIsRareSoSteadyStateWritesNothing(t *testing.T) {
	r := coordination.Attach(coordination.Registry{Owner: entry("a", t0)}, entry("b", time.Time{}), t0)
	again := coordination.Attach(r, entry("b", time.Time{}), t0.Add(coordination.Refresh/2))
	if again.Render() != r.Render() {
		t.Errorf("a fresh entry was rewritten: %s -> %s", r.Render(), again.Render())
	}
	later := coordination.Attach(r, entry("b", time.Time{}), t0.Add(coordination.Refresh))
	if later.Render() == r.Render() {
		t.Error("a stale entry was not refreshed")
	}
	if got := coordination.ForOwner(&r, entry("a", time.Time{}), t0.Add(time.Minute)); got.Render() != r.Render() {
		t.Errorf("the owner rewrote a fresh registry: %s", got.Render())
	}
}

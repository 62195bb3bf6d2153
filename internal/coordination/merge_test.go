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
			return depart(coordination.Registry{Owner: a, Consumers: []coordination.Entry{c, b}}, a, t0.Add(3*time.Minute))
		}, "b", []string{"c"}, false},
		{"a departing consumer leaves the rest", func() (coordination.Registry, bool) {
			return depart(coordination.Registry{Owner: a, Consumers: []coordination.Entry{b, c}}, b, t0.Add(3*time.Minute))
		}, "a", []string{"c"}, false},
		{"the last one out empties it", func() (coordination.Registry, bool) {
			return depart(owned, a, t0.Add(time.Minute))
		}, "", nil, true},
		{"a live consumer takes over from a stale owner, stale entries stay (their machines may still serve)", func() (coordination.Registry, bool) {
			late := t0.Add(coordination.Expiry + time.Hour)
			return coordination.Attach(coordination.Registry{Owner: a, Consumers: []coordination.Entry{b}}, entry("c", time.Time{}), late), false
		}, "c", []string{"b", "a"}, false},
		{"a live owner keeps its stale consumers", func() (coordination.Registry, bool) {
			late := t0.Add(coordination.Expiry + time.Hour)
			return coordination.ForOwner(&coordination.Registry{Owner: a, Consumers: []coordination.Entry{b}}, entry("a", time.Time{}), late), false
		}, "a", []string{"b"}, false},
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

// depart is Depart as the old two results: the registry left, and whether
// nobody is left in it.
func depart(r coordination.Registry, me coordination.Entry, now time.Time) (coordination.Registry, bool) {
	d := coordination.Depart(r, me, now)
	return d.Next, d.Next.Owner.OperatorID == ""
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

	// What an entry says about itself is written when it changes, and
	// only then.
	hosts := entry("b", time.Time{})
	hosts.Devices, hosts.Sharing = []string{"n1", "n2"}, true
	withHosts := coordination.Attach(r, hosts, t0.Add(time.Minute))
	if withHosts.Render() == r.Render() {
		t.Error("new devices and consent were not recorded")
	}
	if again := coordination.Attach(withHosts, hosts, t0.Add(2*time.Minute)); again.Render() != withHosts.Render() {
		t.Errorf("unchanged devices were rewritten: %s -> %s", withHosts.Render(), again.Render())
	}
	owner := entry("a", time.Time{})
	owner.Sharing = true
	allowed := coordination.ForOwner(&withHosts, owner, t0.Add(2*time.Minute))
	if !allowed.Owner.Sharing || !allowed.Owner.LastSeen.Equal(t0) {
		t.Errorf("the owner's new consent: %s; want sharing recorded, lastSeen kept", allowed.Render())
	}
	if again := coordination.ForOwner(&allowed, owner, t0.Add(3*time.Minute)); again.Render() != allowed.Render() {
		t.Errorf("an unchanged consent was rewritten: %s", again.Render())
	}
}

package coordination_test

import (
	"slices"
	"testing"
	"time"

	"github.com/tailscale-gateway/tailscale-gateway/internal/coordination"
)

func TestDepartDeletesOnlyWhenNoOtherEntryMayStillServe(t *testing.T) {
	now := t0.Add(time.Hour)
	liveAt, staleAt := now.Add(-time.Minute), now.Add(-coordination.Expiry-time.Minute)
	e := func(op string, seen time.Time, devices ...string) coordination.Entry {
		return coordination.Entry{OperatorID: op, Object: "default/web", LastSeen: seen, Devices: devices}
	}
	me := e("me", liveAt, "n-me")
	cases := []struct {
		name        string
		reg         coordination.Registry
		wantInUse   bool
		wantDevices []string
		wantOwner   string
		wantCons    []string
	}{
		{"alone: nothing to check", coordination.Registry{Owner: me}, false, nil, "", nil},
		{"a live consumer keeps it", coordination.Registry{Owner: me, Consumers: []coordination.Entry{e("b", liveAt, "n-b")}},
			true, []string{"n-b"}, "b", nil},
		{"a stale consumer is kept, its devices to be checked", coordination.Registry{Owner: me, Consumers: []coordination.Entry{e("b", staleAt, "n-b1", "n-b2")}},
			false, []string{"n-b1", "n-b2"}, "b", nil},
		{"a live consumer takes over before an older stale one", coordination.Registry{Owner: me, Consumers: []coordination.Entry{e("old", staleAt, "n-old"), e("b", liveAt)}},
			true, []string{"n-old"}, "b", []string{"old"}},
		{"a departing consumer leaves a stale owner in place", coordination.Registry{Owner: e("a", staleAt, "n-a"), Consumers: []coordination.Entry{me}},
			false, []string{"n-a"}, "a", nil},
		{"a stale entry without devices leaves nothing to check", coordination.Registry{Owner: me, Consumers: []coordination.Entry{e("b", staleAt)}},
			false, nil, "b", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := coordination.Depart(tc.reg, me, now)
			var cons []string
			for _, c := range d.Next.Consumers {
				cons = append(cons, c.OperatorID)
			}
			if d.InUse != tc.wantInUse || !slices.Equal(d.Devices, tc.wantDevices) || d.Next.Owner.OperatorID != tc.wantOwner || !slices.Equal(cons, tc.wantCons) {
				t.Errorf("Depart = inUse %v devices %v owner %q consumers %v; want %v %v %q %v",
					d.InUse, d.Devices, d.Next.Owner.OperatorID, cons, tc.wantInUse, tc.wantDevices, tc.wantOwner, tc.wantCons)
			}
			if d.Next.Has(me) {
				t.Error("the departing entry is still there")
			}
		})
	}
}

func TestServing(t *testing.T) {
	now := t0
	cases := []struct {
		name      string
		connected bool
		lastSeen  time.Time
		want      bool
	}{
		{"connected", true, time.Time{}, true},
		{"seen a moment ago", false, now.Add(-time.Minute), true},
		{"seen within expiry", false, now.Add(-coordination.Expiry), true},
		{"gone for longer than expiry", false, now.Add(-coordination.Expiry - time.Second), false},
		{"never seen, not connected", false, time.Time{}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := coordination.Serving(tc.connected, tc.lastSeen, now); got != tc.want {
				t.Errorf("Serving = %v, want %v", got, tc.want)
			}
		})
	}
}

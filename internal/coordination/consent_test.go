package coordination_test

import (
	"testing"
	"time"

	"github.com/tailscale-gateway/tailscale-gateway/internal/coordination"
)

func TestDecideSharingNeedsConsentAndRequest(t *testing.T) {
	owner := func(sharing bool) coordination.Entry {
		e := coordination.Entry{OperatorID: "a", Object: "prod/db", LastSeen: t0, Sharing: sharing}
		return e
	}
	me := coordination.Entry{OperatorID: "b", Object: "prod/db"}
	otherNamespace := coordination.Entry{OperatorID: "a", Object: "staging/db"}
	stale := owner(true)
	stale.LastSeen = t0.Add(-coordination.Expiry - time.Hour)
	cases := []struct {
		name       string
		reg        coordination.Registry
		me         coordination.Entry
		join       bool
		want       coordination.Use
		wantMember bool
	}{
		{"our own service", coordination.Registry{Owner: me}, me, false, coordination.Own, true},
		{"our own, whatever we ask", coordination.Registry{Owner: me}, me, true, coordination.Own, true},
		{"an empty registry is nobody's", coordination.Registry{}, me, false, coordination.Own, false},
		{"neither allowed nor asked", coordination.Registry{Owner: owner(false)}, me, false, coordination.Conflict, false},
		{"asked, not allowed", coordination.Registry{Owner: owner(false)}, me, true, coordination.Conflict, false},
		{"allowed, not asked", coordination.Registry{Owner: owner(true)}, me, false, coordination.Conflict, false},
		{"allowed and asked", coordination.Registry{Owner: owner(true)}, me, true, coordination.Join, false},
		{"already joined, still allowed and asked", coordination.Registry{Owner: owner(true), Consumers: []coordination.Entry{me}}, me, true, coordination.Join, true},
		{"consent withdrawn while joined", coordination.Registry{Owner: owner(false), Consumers: []coordination.Entry{me}}, me, true, coordination.Conflict, true},
		{"stopped asking while joined", coordination.Registry{Owner: owner(true), Consumers: []coordination.Entry{me}}, me, false, coordination.Conflict, true},
		{"same operator, another namespace, no consent", coordination.Registry{Owner: owner(false)}, otherNamespace, false, coordination.Conflict, false},
		{"same operator, another namespace, by consent", coordination.Registry{Owner: owner(true)}, otherNamespace, true, coordination.Join, false},
		{"a stale owner's refusal still stands", coordination.Registry{Owner: func() coordination.Entry { e := stale; e.Sharing = false; return e }()}, me, true, coordination.Conflict, false},
		{"a stale owner's consent still stands", coordination.Registry{Owner: stale}, me, true, coordination.Join, false},
		{"an ownerless registry: its oldest consumer decides", coordination.Registry{Consumers: []coordination.Entry{owner(false)}}, me, true, coordination.Conflict, false},
		{"an ownerless registry whose oldest consumer is me", coordination.Registry{Consumers: []coordination.Entry{{OperatorID: "b", Object: "prod/db", LastSeen: t0}}}, me, false, coordination.Join, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := coordination.Decide(tc.reg, tc.me, tc.join)
			if d.Use != tc.want || d.Member != tc.wantMember {
				t.Errorf("Decide = %v (member %v); want %v (member %v)", d.Use, d.Member, tc.want, tc.wantMember)
			}
			if d.Use == coordination.Conflict && (d.Owner.OperatorID == "" || d.Asked != tc.join) {
				t.Errorf("a Conflict must say who owns it and whether we asked: %+v", d)
			}
		})
	}
}

package lb

import (
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/tailscale-gateway/tailscale-gateway/internal/proxyconfig"
)

func TestFailoverStateMachine(t *testing.T) {
	const delay = 60 * time.Second
	t0 := time.Unix(1000, 0)
	type step struct {
		at      time.Duration // since t0
		healthy [numTiers]bool
		active  rank
		reason  string // of the switch this step causes; "" for none
		wake    time.Duration
	}
	P, S, O := rankOf(proxyconfig.TierPrimary), rankOf(proxyconfig.TierSecondary), rankOf(proxyconfig.TierOther)
	all := [numTiers]bool{true, true, true}
	noPrimary := [numTiers]bool{false, true, true}
	onlyOther := [numTiers]bool{false, false, true}
	tests := []struct {
		name  string
		steps []step
	}{
		{"start on primary", []step{{0, all, P, "primary-endpoints-healthy", 0}}},
		{"start with nothing healthy, then secondary", []step{
			{0, [numTiers]bool{}, noRank, "", 0},
			{time.Second, noPrimary, S, "secondary-endpoints-healthy", 0},
		}},
		{"primary fails over to secondary at once", []step{
			{0, all, P, "primary-endpoints-healthy", 0},
			{time.Second, noPrimary, S, "primary-endpoints-unhealthy", 0},
		}},
		{"primary and secondary fail: other", []step{
			{0, all, P, "primary-endpoints-healthy", 0},
			{time.Second, onlyOther, O, "primary-endpoints-unhealthy", 0},
		}},
		{"everything fails: no tier (panic)", []step{
			{0, noPrimary, S, "secondary-endpoints-healthy", 0},
			{time.Second, [numTiers]bool{}, noRank, "secondary-endpoints-unhealthy", 0},
		}},
		{"failback waits for failbackDelay", []step{
			{0, all, P, "primary-endpoints-healthy", 0},
			{1 * time.Second, noPrimary, S, "primary-endpoints-unhealthy", 0},
			{10 * time.Second, all, S, "", delay},
			{69 * time.Second, all, S, "", time.Second},
			{70 * time.Second, all, P, "primary-endpoints-recovered", 0},
		}},
		{"failback needs UNBROKEN health", []step{
			{0, all, P, "primary-endpoints-healthy", 0},
			{1 * time.Second, noPrimary, S, "primary-endpoints-unhealthy", 0},
			{10 * time.Second, all, S, "", delay},
			{40 * time.Second, noPrimary, S, "", 0}, // a break resets the clock
			{50 * time.Second, all, S, "", delay},
			{70 * time.Second, all, S, "", 40 * time.Second}, // 60s after first recovery: not yet
			{110 * time.Second, all, P, "primary-endpoints-recovered", 0},
		}},
		{"failback to secondary while primary is still down", []step{
			{0, noPrimary, S, "secondary-endpoints-healthy", 0},
			{1 * time.Second, onlyOther, O, "secondary-endpoints-unhealthy", 0},
			{2 * time.Second, noPrimary, O, "", delay},
			{62 * time.Second, noPrimary, S, "secondary-endpoints-recovered", 0},
		}},
		{"active tier dies while a higher one waits: go up at once", []step{
			{0, all, P, "primary-endpoints-healthy", 0},
			{1 * time.Second, noPrimary, S, "primary-endpoints-unhealthy", 0},
			{2 * time.Second, all, S, "", delay},
			{3 * time.Second, [numTiers]bool{true, false, true}, P, "secondary-endpoints-unhealthy", 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFailoverState()
			for i, st := range tt.steps {
				prev := s.active
				var sw *Switch
				var wake time.Duration
				s, sw, wake = s.next(t0.Add(st.at), st.healthy, delay)
				if s.active != st.active {
					t.Fatalf("step %d: active = %v, want %v", i, s.active, st.active)
				}
				switch {
				case st.reason == "" && sw != nil:
					t.Fatalf("step %d: unexpected switch %+v", i, sw)
				case st.reason != "" && (sw == nil || sw.Reason != st.reason || sw.From != prev.tier() || sw.To != st.active.tier() || !sw.At.Equal(t0.Add(st.at))):
					t.Fatalf("step %d: switch = %+v, want %v→%v %q", i, sw, prev, st.active, st.reason)
				}
				if wake != st.wake {
					t.Fatalf("step %d: wake = %v, want %v", i, wake, st.wake)
				}
			}
		})
	}
}

// TestFailoverBalancerOnFakeClock drives the real Balancer: health changes
// through SetHealthy, failback through the fake clock's timer.
func TestFailoverBalancerOnFakeClock(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Unix(0, 0))
	switches := make(chan Switch, 10)
	b := New(Config{Strategy: proxyconfig.StrategyFailover, FailbackDelay: time.Minute, Backends: []Backend{
		{Name: "p1", Tier: proxyconfig.TierPrimary}, {Name: "p2", Tier: proxyconfig.TierPrimary}, {Name: "s1", Tier: proxyconfig.TierSecondary},
	}}, Options{Clock: clk, OnSwitch: func(s Switch) { switches <- s }})
	defer b.Close()
	expect := func(from, to proxyconfig.Tier, reason string) {
		t.Helper()
		select {
		case s := <-switches:
			if s.From != from || s.To != to || s.Reason != reason || !s.At.Equal(clk.Now()) {
				t.Fatalf("switch = %+v, want %v→%v %q at %v", s, from, to, reason, clk.Now())
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no switch %v→%v", from, to)
		}
		if b.ActiveTier() != to {
			t.Fatalf("ActiveTier = %v, want %v", b.ActiveTier(), to)
		}
	}
	if !b.Panic() || b.ActiveTier() != proxyconfig.TierNone {
		t.Fatalf("before any health: panic=%v tier=%v", b.Panic(), b.ActiveTier())
	}
	b.SetHealthy("s1", true)
	expect(proxyconfig.TierNone, proxyconfig.TierSecondary, "secondary-endpoints-healthy")
	b.SetHealthy("p1", true)
	if got := countPicks(b, 10); got["s1"] != 10 {
		t.Fatalf("picks before failbackDelay = %v, want all on s1", got)
	}
	clk.Step(30 * time.Second)
	b.SetHealthy("p2", true) // more primary health does not restart the wait
	b.SetHealthy("p1", false)
	clk.Step(30 * time.Second) // primary tier healthy (p1 then p2) for 60s unbroken
	expect(proxyconfig.TierSecondary, proxyconfig.TierPrimary, "primary-endpoints-recovered")
	if got := countPicks(b, 10); got["p2"] != 10 {
		t.Fatalf("picks after failback = %v, want all on p2", got)
	}
	b.SetHealthy("p2", false)
	expect(proxyconfig.TierPrimary, proxyconfig.TierSecondary, "primary-endpoints-unhealthy")
	if last, ok := b.LastSwitch(); !ok || last.Reason != "primary-endpoints-unhealthy" {
		t.Fatalf("LastSwitch = %+v, %v", last, ok)
	}
}

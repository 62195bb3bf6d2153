package lb

import (
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/tailscale-gateway/tailscale-gateway/internal/proxyconfig"
)

func backends(specs ...string) []Backend {
	var out []Backend
	for _, s := range specs {
		out = append(out, Backend{Name: s, Address: s + ":80", Weight: 1})
	}
	return out
}

func newBalancer(t *testing.T, cfg Config, healthy ...string) *Balancer {
	t.Helper()
	b := New(cfg, Options{Clock: clocktesting.NewFakeClock(time.Unix(0, 0))})
	t.Cleanup(b.Close)
	for _, h := range healthy {
		b.SetHealthy(h, true)
	}
	return b
}

// countPicks picks n times, ending each connection at once, and counts names.
func countPicks(b *Balancer, n int) map[string]int {
	got := map[string]int{}
	for range n {
		var a Attempt
		m := b.Pick(&a)
		got[m.Name()]++
		b.Done(m)
	}
	return got
}

func TestDistribution(t *testing.T) {
	weightedPools := []Backend{
		{Name: "a1", Group: "a", Weight: 70, Tier: proxyconfig.TierPrimary},
		{Name: "a2", Group: "a", Weight: 70, Tier: proxyconfig.TierPrimary},
		{Name: "b1", Group: "b", Weight: 30, Tier: proxyconfig.TierSecondary},
		{Name: "c1", Group: "c", Weight: 0, Tier: proxyconfig.TierOther},
	}
	tests := []struct {
		name    string
		cfg     Config
		healthy []string
		want    map[string]float64 // expected share of picks
		panic   bool
	}{
		{"round-robin over healthy", Config{Strategy: proxyconfig.StrategyRoundRobin, Backends: backends("x", "y", "z")},
			[]string{"x", "y", "z"}, map[string]float64{"x": 1. / 3, "y": 1. / 3, "z": 1. / 3}, false},
		{"round-robin skips unhealthy", Config{Strategy: proxyconfig.StrategyRoundRobin, Backends: backends("x", "y", "z")},
			[]string{"x", "z"}, map[string]float64{"x": .5, "z": .5}, false},
		{"least-connections ties go round-robin", Config{Strategy: proxyconfig.StrategyLeastConnections, Backends: backends("x", "y", "z")},
			[]string{"x", "y", "z"}, map[string]float64{"x": 1. / 3, "y": 1. / 3, "z": 1. / 3}, false},
		{"weighted splits groups by weight and members evenly", Config{Strategy: proxyconfig.StrategyWeighted, Backends: weightedPools},
			[]string{"a1", "a2", "b1", "c1"}, map[string]float64{"a1": .35, "a2": .35, "b1": .30}, false},
		{"weighted: one member down, its group keeps its share", Config{Strategy: proxyconfig.StrategyWeighted, Backends: weightedPools},
			[]string{"a2", "b1"}, map[string]float64{"a2": .70, "b1": .30}, false},
		{"weighted: group with no healthy member gives its share away", Config{Strategy: proxyconfig.StrategyWeighted, Backends: weightedPools},
			[]string{"b1", "c1"}, map[string]float64{"b1": 1}, false},
		{"weighted: only zero-weight groups healthy", Config{Strategy: proxyconfig.StrategyWeighted, Backends: weightedPools},
			[]string{"c1"}, map[string]float64{"c1": 1}, false},
		{"failover uses the primary tier", Config{Strategy: proxyconfig.StrategyFailover, Backends: weightedPools},
			[]string{"a1", "a2", "b1", "c1"}, map[string]float64{"a1": .5, "a2": .5}, false},
		{"failover falls to secondary", Config{Strategy: proxyconfig.StrategyFailover, Backends: weightedPools},
			[]string{"b1", "c1"}, map[string]float64{"b1": 1}, false},
		{"failover falls to other", Config{Strategy: proxyconfig.StrategyFailover, Backends: weightedPools},
			[]string{"c1"}, map[string]float64{"c1": 1}, false},
		{"panic mode tries everyone", Config{Strategy: proxyconfig.StrategyWeighted, Backends: weightedPools},
			nil, map[string]float64{"a1": .25, "a2": .25, "b1": .25, "c1": .25}, true},
		{"panic mode with least-connections", Config{Strategy: proxyconfig.StrategyLeastConnections, Backends: backends("x", "y")},
			nil, map[string]float64{"x": .5, "y": .5}, true},
	}
	const picks = 10000
	const tolerance = 0.01 // absolute share
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBalancer(t, tt.cfg, tt.healthy...)
			if b.Panic() != tt.panic {
				t.Fatalf("Panic() = %v, want %v", b.Panic(), tt.panic)
			}
			got := countPicks(b, picks)
			for name, n := range got {
				if _, ok := tt.want[name]; !ok {
					t.Errorf("%s got %d picks, want none", name, n)
				}
			}
			for name, share := range tt.want {
				if d := math.Abs(float64(got[name])/picks - share); d > tolerance {
					t.Errorf("%s got share %.3f, want %.3f±%.2f", name, float64(got[name])/picks, share, tolerance)
				}
			}
		})
	}
}

func TestSmoothSequenceMatchesNginx(t *testing.T) {
	tests := []struct {
		weights []int
		want    string
	}{
		{[]int{5, 1, 1}, "[0 0 1 0 2 0 0]"},      // nginx's documented a a b a c a a
		{[]int{70, 30}, "[0 1 0 0 0 1 0 0 1 0]"}, // 7:3 after dividing by the gcd
		{[]int{2, 0, 2}, "[0 2]"},
		{[]int{0, 0}, "[]"},
	}
	for _, tt := range tests {
		if got := fmt.Sprint(smoothSequence(tt.weights)); got != tt.want {
			t.Errorf("smoothSequence(%v) = %s, want %s", tt.weights, got, tt.want)
		}
	}
}

func TestReduceWeightsBoundsSchedule(t *testing.T) {
	w := reduceWeights([]int{1_000_000, 3_000_000, 1})
	total := w[0] + w[1] + w[2]
	if total > maxSequence+3 || w[2] != 1 || math.Abs(float64(w[1])/float64(w[0])-3) > 0.01 {
		t.Fatalf("reduceWeights = %v (total %d)", w, total)
	}
}

func TestLeastConnectionsPrefersIdleBackend(t *testing.T) {
	b := newBalancer(t, Config{Strategy: proxyconfig.StrategyLeastConnections, Backends: backends("x", "y", "z")}, "x", "y", "z")
	held := map[string]*Member{}
	for range 3 { // one long-lived connection on each
		var a Attempt
		m := b.Pick(&a)
		held[m.Name()] = m
	}
	if len(held) != 3 {
		t.Fatalf("first three picks went to %d backends, want 3", len(held))
	}
	b.Done(held["y"]) // y now has the fewest
	for range 3 {
		var a Attempt
		m := b.Pick(&a)
		if m.Name() != "y" {
			t.Fatalf("picked %s, want y (fewest active)", m.Name())
		}
		b.Done(m)
	}
	var a Attempt
	m := b.Pick(&a)
	other := b.Pick(&a) // a retry on the same attempt must differ
	if m.Name() != "y" || other == nil || other == m {
		t.Fatalf("pick then retry = %v, %v", m.Name(), other)
	}
}

func TestRetriesTryEveryBackendOnce(t *testing.T) {
	for _, st := range proxyconfig.Strategies {
		t.Run(string(st), func(t *testing.T) {
			b := newBalancer(t, Config{Strategy: st, Backends: backends("x", "y", "z")}, "x", "y")
			var a Attempt
			seen := map[string]bool{}
			for m := b.Pick(&a); m != nil; m = b.Pick(&a) {
				if seen[m.Name()] {
					t.Fatalf("%s tried twice", m.Name())
				}
				seen[m.Name()] = true
				b.Done(m)
			}
			if len(seen) != 3 || a.Tries() != 3 {
				t.Fatalf("tried %v, want all three (unhealthy last)", seen)
			}
			for _, m := range b.Status().Members {
				if m.Active != 0 {
					t.Errorf("%s active = %d after Done, want 0", m.Name, m.Active)
				}
			}
		})
	}
}

func TestUpdateKeepsHealthAndCounts(t *testing.T) {
	b := newBalancer(t, Config{Strategy: proxyconfig.StrategyRoundRobin, Backends: backends("x", "y")}, "x", "y")
	var a Attempt
	m := b.Pick(&a)
	b.Update(Config{Strategy: proxyconfig.StrategyLeastConnections, Backends: backends(m.Name(), "new")})
	st := b.Status()
	if len(st.Members) != 2 || st.Members[0].Active != 1 || !st.Members[0].Healthy || st.Members[1].Healthy {
		t.Fatalf("status after update = %+v", st)
	}
	if got := countPicks(b, 10); got[m.Name()] != 10 {
		t.Fatalf("picks = %v, want only the healthy survivor %s", got, m.Name())
	}
	b.Done(m)
	if m.Active() != 0 {
		t.Fatalf("active = %d after Done on a connection from before the update", m.Active())
	}
}

func TestEmptyBalancer(t *testing.T) {
	b := newBalancer(t, Config{Strategy: proxyconfig.StrategyRoundRobin})
	var a Attempt
	if m := b.Pick(&a); m != nil {
		t.Fatalf("Pick on empty balancer = %v", m.Name())
	}
}

func TestConcurrentPicksAndUpdates(t *testing.T) {
	for _, st := range proxyconfig.Strategies {
		t.Run(string(st), func(t *testing.T) {
			all := []Backend{{Name: "x", Tier: proxyconfig.TierPrimary, Weight: 2}, {Name: "y", Tier: proxyconfig.TierPrimary, Weight: 1}, {Name: "z", Tier: proxyconfig.TierSecondary, Weight: 1}}
			b := newBalancer(t, Config{Strategy: st, Backends: all}, "x", "y", "z")
			var wg sync.WaitGroup
			stop := make(chan struct{})
			for range 4 {
				wg.Go(func() {
					for {
						select {
						case <-stop:
							return
						default:
						}
						var a Attempt
						if m := b.Pick(&a); m != nil {
							b.Done(m)
						}
					}
				})
			}
			for i := range 300 {
				b.SetHealthy(all[i%3].Name, i%2 == 0)
				b.Update(Config{Strategy: st, Backends: all[:2+i%2]})
			}
			close(stop)
			wg.Wait()
			for _, m := range b.Status().Members {
				if m.Active != 0 {
					t.Errorf("%s active = %d, want 0", m.Name, m.Active)
				}
			}
		})
	}
}

func TestPickDoesNotAllocate(t *testing.T) {
	for _, st := range proxyconfig.Strategies {
		b := newBalancer(t, Config{Strategy: st, Backends: backends("x", "y", "z")}, "x", "y", "z")
		allocs := testing.AllocsPerRun(1000, func() {
			var a Attempt
			m := b.Pick(&a)
			b.Done(m)
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocs per pick, want 0", st, allocs)
		}
	}
}

func BenchmarkPick(b *testing.B) {
	for _, st := range proxyconfig.Strategies {
		for _, n := range []int{3, 100} {
			b.Run(fmt.Sprintf("%s/%d", st, n), func(b *testing.B) {
				var bs []Backend
				for i := range n {
					bs = append(bs, Backend{Name: fmt.Sprint(i), Group: fmt.Sprint(i % 5), Weight: 1 + i%5, Tier: proxyconfig.Tiers[i%3]})
				}
				bal := New(Config{Strategy: st, Backends: bs}, Options{})
				defer bal.Close()
				for _, be := range bs {
					bal.SetHealthy(be.Name, true)
				}
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						var a Attempt
						bal.Done(bal.Pick(&a))
					}
				})
			})
		}
	}
}

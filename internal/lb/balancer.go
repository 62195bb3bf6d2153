package lb

import (
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/utils/clock"

	"github.com/tailscale-gateway/tailscale-gateway/internal/proxyconfig"
)

// Balancer picks backends for one service. All methods are safe for
// concurrent use. Picks read an immutable snapshot through an atomic pointer;
// updates and health changes build a new snapshot under a mutex.
type Balancer struct {
	snap atomic.Pointer[snapshot]
	lc   leastConn

	clock    clock.WithDelayedExecution
	onSwitch func(Switch)

	mu       sync.Mutex // guards everything below and serializes rebuilds
	cfg      Config
	picker   picker // cfg.Strategy's
	members  map[string]*Member
	healthy  map[string]bool
	failover failoverState
	timer    clock.Timer
	last     *Switch
}

// Options are fixed for a Balancer's lifetime.
type Options struct {
	// Clock drives failback timing; nil means the real clock.
	Clock clock.WithDelayedExecution
	// OnSwitch, if set, is called for every failover tier switch. It is called
	// with the Balancer's lock held: it must not call back into the Balancer.
	OnSwitch func(Switch)
}

// New returns a Balancer with no backends; call Update to add some.
func New(cfg Config, opts Options) *Balancer {
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	b := &Balancer{
		clock:    opts.Clock,
		onSwitch: opts.OnSwitch,
		members:  map[string]*Member{},
		healthy:  map[string]bool{},
		failover: newFailoverState(),
	}
	b.Update(cfg)
	return b
}

// Update replaces strategy, failback delay and membership. Members keep their
// health and connection counts by name; a new member is unhealthy until
// SetHealthy says otherwise. Picks in flight are not disturbed.
func (b *Balancer) Update(cfg Config) {
	b.mu.Lock()
	defer b.mu.Unlock()
	cfg.Backends = append([]Backend(nil), cfg.Backends...)
	members := make(map[string]*Member, len(cfg.Backends))
	for i := range cfg.Backends {
		be := &cfg.Backends[i]
		m := b.members[be.Name]
		if m == nil {
			m = &Member{name: be.Name}
		}
		m.backend.Store(be)
		members[be.Name] = m
	}
	for name := range b.healthy {
		if members[name] == nil {
			delete(b.healthy, name)
		}
	}
	b.cfg, b.members = cfg, members
	b.picker = pickerOrRoundRobin(cfg.Strategy, &b.lc)
	b.rebuildLocked()
}

// SetHealthy records a backend's effective health (active checks and passive
// ejection combined). Unknown names are ignored.
func (b *Balancer) SetHealthy(name string, healthy bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.members[name] == nil || b.healthy[name] == healthy {
		return
	}
	b.healthy[name] = healthy
	b.rebuildLocked()
}

// Pick chooses a backend for a connection and counts it as active; the caller
// must call Done when the connection ends or its dial fails. Passing the same
// Attempt again after a failed dial yields a backend not yet tried. Pick
// returns nil when there is nothing (left) to try.
func (b *Balancer) Pick(a *Attempt) *Member {
	s := b.snap.Load()
	if a.n >= MaxAttempts || len(s.all) == 0 {
		return nil
	}
	// Panic mode is the same for every strategy: all members in turn.
	// (Written out here rather than in a snapshot method: one call less
	// on the hottest path.)
	var m *Member
	counted := false
	if s.panic {
		m = roundRobin(s.candidates, &s.next)
	} else {
		m, counted = s.picker.pick(s, a.n > 0)
	}
	if m == nil || a.has(m) {
		if m = s.pickUntried(a); m == nil {
			return nil
		}
		counted = false
	}
	if !counted {
		b.lc.adjust(m, +1)
	}
	a.add(m)
	return m
}

// Done ends a connection (or failed dial) started by Pick.
func (b *Balancer) Done(m *Member) { b.lc.adjust(m, -1) }

// Panic reports whether no backend is healthy, so that all are being tried.
func (b *Balancer) Panic() bool { return b.snap.Load().panic }

// ActiveTier is the failover tier taking traffic (proxyconfig.TierNone in
// panic mode or for other strategies).
func (b *Balancer) ActiveTier() proxyconfig.Tier { return b.snap.Load().activeTier.tier() }

// LastSwitch is the most recent failover switch, if any.
func (b *Balancer) LastSwitch() (Switch, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.last == nil {
		return Switch{}, false
	}
	return *b.last, true
}

// rebuildLocked advances the failover state machine and publishes a new
// snapshot. b.mu must be held.
func (b *Balancer) rebuildLocked() {
	tier := noRank
	var sw *Switch
	if b.picker.tiered() {
		tier, sw = b.advanceFailoverLocked()
	}
	members := make([]*Member, 0, len(b.cfg.Backends))
	for i := range b.cfg.Backends {
		members = append(members, b.members[b.cfg.Backends[i].Name])
	}
	s, ordered := buildSnapshot(b.cfg.Strategy, b.picker, members, b.healthy, tier)
	b.lc.reset(ordered)
	b.snap.Store(s)
	// Announced once it is in effect, so that whoever hears of a switch
	// finds ActiveTier (and picks) already on the new tier.
	if sw != nil && b.onSwitch != nil {
		b.onSwitch(*sw)
	}
}

// advanceFailoverLocked steps the failover state machine; it returns the
// active tier and the switch it made, if any.
func (b *Balancer) advanceFailoverLocked() (rank, *Switch) {
	var healthy [numTiers]bool
	for name, ok := range b.healthy {
		if ok {
			healthy[rankOf(b.members[name].Backend().Tier)] = true
		}
	}
	next, sw, wake := b.failover.next(b.clock.Now(), healthy, b.cfg.FailbackDelay)
	b.failover = next
	if sw != nil {
		b.last = sw
	}
	b.scheduleLocked(wake)
	return next.active, sw
}

// scheduleLocked arranges a re-evaluation when a pending failback may become
// due. The callback runs in its own goroutine because fake clocks call it
// with their own lock held.
func (b *Balancer) scheduleLocked(wake time.Duration) {
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	if wake <= 0 {
		return
	}
	b.timer = b.clock.AfterFunc(wake, func() { go b.reevaluate() })
}

func (b *Balancer) reevaluate() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rebuildLocked()
}

// Close stops the failback timer.
func (b *Balancer) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.scheduleLocked(0)
}

package health

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// Config is how a service's backends are checked.
type Config struct {
	// Enabled turns active checks on. When off, every backend is healthy
	// unless passive detection ejects it.
	Enabled    bool
	Interval   time.Duration
	Timeout    time.Duration
	Thresholds Thresholds
	// Jitter spreads checks: each wait is Interval × (1 ± Jitter).
	Jitter  float64
	Outlier OutlierConfig
}

// Target is one backend to watch.
type Target struct {
	Name  string
	Probe Probe
}

// Status is a point-in-time view of one backend's health.
type Status struct {
	Name         string
	State        State
	Healthy      bool // effective: active state and passive ejection combined
	Ejected      bool
	EjectedUntil time.Time
	Ejections    int
	LastError    string
	// LastCheck is when the last active check finished; zero before the first.
	LastCheck time.Time
}

// MonitorOptions are fixed for a Monitor's lifetime.
type MonitorOptions struct {
	Dial DialFunc
	// OnChange is called, with the Monitor's lock held and in order, whenever
	// a backend's effective health changes (and once for each new backend
	// whose effective health starts as healthy). It must not call back into
	// the Monitor.
	OnChange func(name string, healthy bool)
	Clock    clock.WithDelayedExecution // nil: the real clock
	Logger   *slog.Logger               // nil: slog.Default()
	// RunProbe replaces the real probe, e.g. in tests; nil runs Probe.Run.
	RunProbe func(ctx context.Context, p Probe, dial DialFunc) error
}

// Monitor runs active checks and passive detection for one service's backends.
type Monitor struct {
	opts MonitorOptions

	mu      sync.Mutex
	cfg     Config
	entries map[string]*entry
	closed  bool
}

type entry struct {
	target    Target
	stop      context.CancelFunc // stops the check loop; nil if checks are off
	tracker   Tracker
	outlier   Outlier
	healthy   bool // last effective health reported
	lastErr   string
	lastCheck time.Time
	timer     clock.Timer // ejection expiry
}

// NewMonitor returns a Monitor watching nothing; call Update.
func NewMonitor(opts MonitorOptions) *Monitor {
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.RunProbe == nil {
		opts.RunProbe = func(ctx context.Context, p Probe, dial DialFunc) error { return p.Run(ctx, dial) }
	}
	return &Monitor{opts: opts, entries: map[string]*entry{}}
}

// Update sets the configuration and targets. A target whose name and probe
// are unchanged keeps its state; a changed or new one starts Unknown and is
// checked at once. Changing the check configuration restarts every loop but
// keeps states.
func (m *Monitor) Update(cfg Config, targets []Target) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	restart := cfg != m.cfg
	m.cfg = cfg
	keep := make(map[string]bool, len(targets))
	for _, t := range targets {
		keep[t.Name] = true
		e := m.entries[t.Name]
		if e != nil && e.target == t && !restart {
			continue
		}
		fresh := e == nil || e.target != t
		if fresh {
			m.removeLocked(t.Name)
			e = &entry{target: t}
			m.entries[t.Name] = e
		}
		m.startLocked(e)
		// A new or re-addressed backend starts over, whatever the sink
		// remembers about the name.
		m.reportLocked(e, fresh)
	}
	for name := range m.entries {
		if !keep[name] {
			m.removeLocked(name)
		}
	}
	for _, e := range m.entries {
		m.reportLocked(e, false)
	}
}

// ReportDial feeds passive outlier detection with the outcome of a dial to
// the named backend.
func (m *Monitor) ReportDial(name string, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.entries[name]
	if e == nil {
		return
	}
	if err == nil {
		e.outlier = e.outlier.DialSucceeded()
		return
	}
	now := m.opts.Clock.Now()
	before := e.outlier.Ejected(now)
	e.outlier = e.outlier.DialFailed(now, m.cfg.Outlier)
	if !before && e.outlier.Ejected(now) {
		m.opts.Logger.Warn("backend ejected after consecutive dial failures",
			"backend", name, "until", e.outlier.EjectedUntil(), "ejections", e.outlier.Ejections(), "error", err)
		m.scheduleUnejectLocked(e, e.outlier.EjectedUntil().Sub(now))
	}
	m.reportLocked(e, false)
}

// Status reports every backend, in no particular order.
func (m *Monitor) Status() []Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.opts.Clock.Now()
	out := make([]Status, 0, len(m.entries))
	for name, e := range m.entries {
		out = append(out, Status{
			Name: name, State: e.tracker.State(), Healthy: e.healthy,
			Ejected: e.outlier.Ejected(now), EjectedUntil: e.outlier.EjectedUntil(),
			Ejections: e.outlier.Ejections(), LastError: e.lastErr, LastCheck: e.lastCheck,
		})
	}
	return out
}

// Close stops every check loop and timer.
func (m *Monitor) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for name := range m.entries {
		m.removeLocked(name)
	}
	m.closed = true
}

func (m *Monitor) removeLocked(name string) {
	e := m.entries[name]
	if e == nil {
		return
	}
	if e.stop != nil {
		e.stop()
	}
	if e.timer != nil {
		e.timer.Stop()
	}
	delete(m.entries, name)
}

func (m *Monitor) startLocked(e *entry) {
	if e.stop != nil {
		e.stop()
		e.stop = nil
	}
	if !m.cfg.Enabled {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.stop = cancel
	go m.loop(ctx, e, m.cfg)
}

// loop checks one backend at once, then every jittered interval.
func (m *Monitor) loop(ctx context.Context, e *entry, cfg Config) {
	for {
		err := m.check(ctx, e.target.Probe, cfg.Timeout)
		if ctx.Err() != nil {
			return
		}
		m.observe(e, err)
		t := m.opts.Clock.NewTimer(jittered(cfg.Interval, cfg.Jitter))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
	}
}

func (m *Monitor) check(ctx context.Context, p Probe, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return m.opts.RunProbe(ctx, p, m.opts.Dial)
}

func (m *Monitor) observe(e *entry, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.entries[e.target.Name] != e {
		return // replaced or removed while the probe ran
	}
	before := e.tracker.State()
	e.tracker = e.tracker.Observe(err == nil, m.cfg.Thresholds)
	e.lastCheck = m.opts.Clock.Now()
	e.lastErr = ""
	if err != nil {
		e.lastErr = err.Error()
	}
	if after := e.tracker.State(); after != before {
		m.opts.Logger.Info("backend health changed", "backend", e.target.Name,
			"address", e.target.Probe.Address, "from", before, "to", after, "error", e.lastErr)
	}
	m.reportLocked(e, false)
}

// scheduleUnejectLocked re-evaluates a backend when its ejection ends. The
// callback runs in its own goroutine because fake clocks call it with their
// own lock held.
func (m *Monitor) scheduleUnejectLocked(e *entry, after time.Duration) {
	if e.timer != nil {
		e.timer.Stop()
	}
	e.timer = m.opts.Clock.AfterFunc(after, func() {
		go func() {
			m.mu.Lock()
			defer m.mu.Unlock()
			if m.entries[e.target.Name] == e {
				m.reportLocked(e, false)
			}
		}()
	})
}

// reportLocked recomputes effective health and reports a change. force
// reports even without a change (a brand-new backend).
func (m *Monitor) reportLocked(e *entry, force bool) {
	healthy := !e.outlier.Ejected(m.opts.Clock.Now()) &&
		(!m.cfg.Enabled || e.tracker.State() == Healthy)
	if healthy == e.healthy && !force {
		return
	}
	e.healthy = healthy
	if m.opts.OnChange != nil {
		m.opts.OnChange(e.target.Name, healthy)
	}
}

func jittered(d time.Duration, jitter float64) time.Duration {
	if jitter <= 0 {
		return d
	}
	return time.Duration(float64(d) * (1 + jitter*(2*rand.Float64()-1)))
}

package proxy

import (
	"sync/atomic"
	"time"

	"github.com/tailscale-gateway/tailscale-gateway/internal/proxyconfig"
)

// counters are one backend's connection counts. They survive config swaps
// that keep the backend's name.
type counters struct {
	active, total, failed atomic.Int64
	bytesUp, bytesDown    atomic.Int64
	failStreak            atomic.Int64 // dial failures since the last success
	// hop is set from the configuration (Network tailnet): the backend is
	// another proxy, whose successful dial does not prove that its own
	// upstream is reachable; see serveHop. Kept here, beside the counters
	// the connection looks up anyway, so that the check costs no extra
	// lookup; every apply stores it.
	hop atomic.Bool
}

// BackendStats is a snapshot of one backend, for status and metrics.
type BackendStats struct {
	Name    string           `json:"name"`
	Group   string           `json:"group"`
	Tier    proxyconfig.Tier `json:"tier"`
	Address string           `json:"address"`
	Weight  int              `json:"weight"`
	// Healthy is the effective health the balancer uses.
	Healthy bool `json:"healthy"`
	// HealthState is the active-check state: unknown, healthy, unhealthy.
	HealthState string `json:"healthState"`
	Ejected     bool   `json:"ejected"`
	LastError   string `json:"lastError,omitempty"`
	// LastCheck is when the last active check finished; zero before the first.
	LastCheck time.Time `json:"lastCheck,omitzero"`
	// Active connections now; Total connections established; Failed dials.
	Active    int64 `json:"active"`
	Total     int64 `json:"total"`
	Failed    int64 `json:"failed"`
	BytesUp   int64 `json:"bytesUp"`
	BytesDown int64 `json:"bytesDown"`
}

// ServiceStats is a snapshot of one service.
type ServiceStats struct {
	Name     string               `json:"name"`
	Strategy proxyconfig.Strategy `json:"strategy"`
	// Panic is true when no backend is healthy and all are being tried.
	Panic bool `json:"panic"`
	// ActiveTier is the failover tier taking traffic (proxyconfig.TierNone
	// otherwise).
	ActiveTier proxyconfig.Tier `json:"activeTier"`
	// Unserved counts client connections closed because no backend could be
	// dialed.
	Unserved int64          `json:"unserved"`
	Backends []BackendStats `json:"backends"`
}

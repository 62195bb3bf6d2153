package podmode

import (
	"reflect"
	"time"

	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
	"github.com/tailscale-gateway/tailscale-gateway/internal/proxy"
	"github.com/tailscale-gateway/tailscale-gateway/internal/proxyconfig"
)

// This file is the pure part of the status report: what to report, and
// whether a new report is worth a write to the API server.

// nodeInfo is the tailnet identity of this machine.
type nodeInfo struct {
	DeviceID string
	Hostname string
	FQDN     string
	IPs      []string
}

// failover is the last failover switch of one service.
type failover struct {
	At     time.Time
	Reason string
}

// reportInput is everything a report is made of.
type reportInput struct {
	Node       nodeInfo
	Ready      bool
	Generation string
	// Refused is the newest version, if the engine refused it.
	Refused   *pool.ConfigRefusal
	Stats     []proxy.ServiceStats
	Failovers map[string]failover
	Now       time.Time
}

// buildReport renders the machine's report.
func buildReport(in reportInput) pool.MachineStatus {
	st := pool.MachineStatus{
		DeviceID:         in.Node.DeviceID,
		Hostname:         in.Node.Hostname,
		FQDN:             in.Node.FQDN,
		TailnetIPs:       in.Node.IPs,
		Ready:            in.Ready,
		ConfigGeneration: in.Generation,
		ConfigRefused:    in.Refused,
		Updated:          in.Now.UTC().Truncate(time.Second),
	}
	for _, s := range in.Stats {
		if st.Services == nil {
			st.Services = map[string]pool.ServiceReport{}
		}
		st.Services[s.Name] = serviceReport(s, in.Failovers[s.Name])
	}
	return st
}

func serviceReport(s proxy.ServiceStats, last failover) pool.ServiceReport {
	r := pool.ServiceReport{Panic: s.Panic}
	if s.Strategy == proxyconfig.StrategyFailover {
		r.ActiveTier = string(s.ActiveTier)
	}
	if !last.At.IsZero() {
		at := last.At.UTC()
		r.LastFailover, r.FailoverReason = &at, last.Reason
	}
	for _, b := range s.Backends {
		br := pool.BackendReport{
			Name: b.Name, Group: b.Group, Address: b.Address, Healthy: b.Healthy,
			Active: b.Active, Total: b.Total, Failed: b.Failed,
		}
		if !b.LastCheck.IsZero() {
			// To the minute: checks run every few seconds, and a report
			// that changed with each of them would be rewritten as often.
			at := b.LastCheck.UTC().Truncate(time.Minute)
			br.LastCheck = &at
		}
		r.Backends = append(r.Backends, br)
	}
	return r
}

// writePolicy decides when a report is written: at once when anything but
// the connection counters changed (health, readiness, membership…), counter
// changes at most every CounterInterval, and when nothing changed only as a
// heartbeat every Heartbeat, so an idle machine writes rarely.
type writePolicy struct {
	CounterInterval time.Duration
	Heartbeat       time.Duration
}

// shouldWrite compares next with the last written report (nil: none yet).
func (p writePolicy) shouldWrite(last *pool.MachineStatus, lastWrite time.Time, next pool.MachineStatus, now time.Time) bool {
	if last == nil {
		return true
	}
	a, b := withoutCounters(*last), withoutCounters(next)
	if !equalReports(a, b) {
		return true
	}
	if equalReports(*last, next) {
		return p.Heartbeat > 0 && now.Sub(lastWrite) >= p.Heartbeat
	}
	return now.Sub(lastWrite) >= p.CounterInterval
}

// withoutCounters zeroes what changes with traffic alone, and the write time.
func withoutCounters(st pool.MachineStatus) pool.MachineStatus {
	st.Updated = time.Time{}
	if st.Services == nil {
		return st
	}
	services := make(map[string]pool.ServiceReport, len(st.Services))
	for name, s := range st.Services {
		backends := make([]pool.BackendReport, len(s.Backends))
		for i, b := range s.Backends {
			b.Active, b.Total, b.Failed, b.LastCheck = 0, 0, 0, nil
			backends[i] = b
		}
		s.Backends = backends
		services[name] = s
	}
	st.Services = services
	return st
}

// equalReports compares two reports, ignoring when they were written.
func equalReports(a, b pool.MachineStatus) bool {
	a.Updated, b.Updated = time.Time{}, time.Time{}
	return reflect.DeepEqual(a, b)
}

package podmode

import (
	"context"
	"slices"
	"time"

	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
	"github.com/tailscale-gateway/tailscale-gateway/internal/proxyconfig"
)

// serve applies the first configuration, then every new version, and
// reports, until ctx is done; then it shuts down.
func (m *machine) serve(ctx context.Context, first configVersion, cfg *proxyconfig.Config, versions <-chan configVersion) error {
	defer m.node.Close()
	m.lastSeen = first.Data
	if err := m.applyConfig(ctx, cfg); err != nil {
		m.refused(first, err) // e.g. a port taken: wait for the next version
	} else {
		m.running, m.runningData = cfg, first.Data
		m.reporter.setGeneration(first.ResourceVersion)
		m.log.Info("serving", "version", first.ResourceVersion,
			"listeners", len(cfg.Listeners), "services", len(cfg.Services))
	}
	m.reporter.refresh(ctx)
	if m.opts.Serving != nil {
		m.opts.Serving(m.adminAddr)
	}
	reportCtx, stopReports := context.WithCancel(ctx)
	reportsDone := make(chan struct{})
	go func() {
		defer close(reportsDone)
		m.reporter.run(reportCtx, m.opts.ReportInterval)
	}()
	for {
		select {
		case <-ctx.Done():
			stopReports()
			<-reportsDone
			m.shutdown()
			return nil
		case v := <-versions:
			m.apply(ctx, v)
			m.reporter.refresh(ctx)
		}
	}
}

// shutdown stops advertising the VIP services first and keeps serving
// them until new connections stop arriving (so Tailscale sends new
// clients to the other hosts while this one still answers them all), then
// closes their listeners, reports ready=false, drains established connections for at
// most DrainTimeout, writes the final report and leaves the tailnet.
func (m *machine) shutdown() {
	m.stopping.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), m.opts.DrainTimeout+pool.ShutdownSlack)
	defer cancel()
	if m.running != nil && m.node != nil {
		// See withdraw.go: stop advertising, keep serving until quiet.
		began := time.Now()
		if err := m.unadvertise(ctx); err != nil {
			m.log.Warn("withdrawing the VIP service advertisements failed", "error", err)
		} else {
			m.log.Info("VIP services no longer advertised; serving them until no new connection arrives")
			m.awaitQuiet(ctx)
			m.log.Info("VIP service connections stopped arriving", "after", time.Since(began).Round(time.Millisecond))
		}
	}
	m.withdrawServices(ctx)
	if err := m.reporter.write(ctx, true); err != nil {
		m.log.Warn("reporting ready=false failed", "error", err)
	}
	m.log.Info("draining", "timeout", m.opts.DrainTimeout)
	drainCtx, cancelDrain := context.WithTimeout(ctx, m.opts.DrainTimeout)
	defer cancelDrain()
	if err := m.engine.Shutdown(drainCtx); err != nil {
		m.log.Warn("drain deadline reached; remaining connections closed")
	}
	if err := m.reporter.write(ctx, true); err != nil {
		m.log.Warn("writing the final report failed", "error", err)
	}
	m.log.Info("stopped")
}

// withdrawServices closes the VIP service listeners, keeping everything else.
func (m *machine) withdrawServices(ctx context.Context) {
	if m.running == nil {
		return
	}
	cfg := *m.running
	cfg.Listeners = slices.DeleteFunc(slices.Clone(cfg.Listeners), func(l proxyconfig.Listener) bool {
		return l.VIPService != ""
	})
	if len(cfg.Listeners) == len(m.running.Listeners) {
		return
	}
	if err := m.engine.Apply(ctx, &cfg); err != nil {
		m.log.Warn("withdrawing the VIP services failed; the drain closes them", "error", err)
		return
	}
	m.log.Info("VIP services withdrawn")
}

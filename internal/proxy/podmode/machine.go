package podmode

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"reflect"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"tailscale.com/tsnet"

	"github.com/tailscale-gateway/tailscale-gateway/internal/proxy"
	"github.com/tailscale-gateway/tailscale-gateway/internal/proxy/admin"
	"github.com/tailscale-gateway/tailscale-gateway/internal/proxyconfig"
)

// machine is the running pod: its tailnet node, the engine and the report.
type machine struct {
	opts     Options
	log      *slog.Logger
	registry *prometheus.Registry
	net      *network
	engine   *proxy.Engine
	reporter *reporter
	node     *tsnet.Server // set by join, before the first Apply

	adminAddr   net.Addr
	stopAdmin   func()
	stopMetrics func()

	joined   atomic.Bool
	stopping atomic.Bool

	// Owned by the serving loop.
	running     *proxyconfig.Config
	runningData []byte
	lastSeen    []byte // the last version applied or refused, to refuse once
	lastRefusal error  // why lastSeen was refused, if it was

	configRefused prometheus.Gauge
}

func newMachine(opts Options, secret *stateSecret, log *slog.Logger) (*machine, error) {
	m := &machine{opts: opts, log: log, registry: prometheus.NewRegistry(), stopAdmin: func() {}, stopMetrics: func() {}}
	m.configRefused = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "tsgw_proxy_config_refused",
		Help: "1 while the latest configuration version was refused and the previous one keeps running.",
	})
	m.registry.MustRegister(m.configRefused, collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.net = newNetwork(opts.Identity.IP)
	m.reporter = &reporter{secret: secret, policy: writePolicy{CounterInterval: opts.CounterInterval, Heartbeat: opts.Heartbeat}, log: log, ready: m.ready}
	engine, err := proxy.New(proxy.Options{
		Dial: m.net.dial, Listen: m.net.listen, Registry: m.registry, Logger: log,
		OnSwitch: m.reporter.recordSwitch,
	})
	if err != nil {
		return nil, err
	}
	m.engine, m.reporter.engine = engine, engine
	if opts.MetricsAddress != "" {
		stop, bound, err := admin.ServeMetrics(opts.MetricsAddress, m.registry, opts.MetricsFilter, log)
		if err != nil {
			return nil, err
		}
		m.stopMetrics = stop
		log.Info("metrics endpoint (HTTPS, authenticated and authorised by the API server)", "address", bound.String())
	}
	if opts.AdminAddress != "" {
		return m, m.serveAdminOn(opts.AdminAddress)
	}
	return m, nil
}

// ready: on the tailnet, a configuration applied, not shutting down.
func (m *machine) ready() bool {
	return m.joined.Load() && !m.stopping.Load() && m.engine.Ready()
}

// startAdmin serves the admin endpoints on the configuration's address
// unless the flag already chose one.
func (m *machine) startAdmin(cfg *proxyconfig.Config) error {
	if m.adminAddr != nil || cfg.Admin == nil || cfg.Admin.Address == "" {
		return nil
	}
	return m.serveAdminOn(cfg.Admin.Address)
}

func (m *machine) serveAdminOn(addr string) error {
	reg := m.registry
	if m.opts.MetricsAddress != "" {
		reg = nil // served on their own, guarded
	}
	stop, bound, err := admin.Serve(addr, m.engine.Alive, m.ready, reg, m.log)
	if err != nil {
		m.stopMetrics()
		return err
	}
	m.stopAdmin, m.adminAddr = stop, bound
	m.log.Info("admin endpoints", "address", bound.String())
	return nil
}

// join brings the node up on the tailnet.
func (m *machine) join(ctx context.Context, o nodeOptions) error {
	m.log.Info("joining the tailnet", "controlURL", o.Tailnet.ControlURL, "tags", o.Tailnet.Tags)
	node, err := startNode(ctx, o)
	if err != nil {
		return err
	}
	m.node = node
	m.net.node = node
	m.reporter.node = node
	m.joined.Store(true)
	return nil
}

// apply serves a new configuration version; a refused one leaves the
// running configuration in place.
func (m *machine) apply(ctx context.Context, v configVersion) {
	if bytes.Equal(v.Data, m.runningData) {
		m.reporter.setGeneration(v.ResourceVersion) // same content, newer version
		m.configRefused.Set(0)
		m.lastSeen = v.Data
		return
	}
	if bytes.Equal(v.Data, m.lastSeen) {
		if m.lastRefusal != nil { // refused already: still refused under this version
			m.reporter.setRefused(v.ResourceVersion, m.lastRefusal)
		}
		return
	}
	m.lastSeen = v.Data
	cfg, err := parsePodConfig(v.Data)
	if err == nil {
		err = m.applyConfig(ctx, cfg)
	}
	if err != nil {
		m.refused(v, err)
		return
	}
	m.running, m.runningData = cfg, v.Data
	m.reporter.setGeneration(v.ResourceVersion)
	m.configRefused.Set(0)
	m.log.Info("configuration applied", "version", v.ResourceVersion,
		"listeners", len(cfg.Listeners), "services", len(cfg.Services))
}

// applyConfig hands cfg to the engine with the matching tailnet dial set.
func (m *machine) applyConfig(ctx context.Context, cfg *proxyconfig.Config) error {
	if m.running != nil && !reflect.DeepEqual(cfg.Tailnet, m.running.Tailnet) {
		m.log.Warn("the tailnet section changed; it takes effect when the pod restarts")
	}
	previous := m.net.prepare(cfg)
	if err := m.engine.Apply(ctx, cfg); err != nil {
		m.net.restore(previous)
		return err
	}
	return nil
}

func (m *machine) refused(v configVersion, err error) {
	m.configRefused.Set(1)
	m.lastRefusal = err
	m.reporter.setRefused(v.ResourceVersion, err)
	m.log.Error("configuration refused; keeping the running one", "version", v.ResourceVersion, "error", err)
}

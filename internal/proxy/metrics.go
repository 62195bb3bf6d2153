package proxy

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tailscale-gateway/tailscale-gateway/internal/proxyconfig"
)

// collector publishes Engine.Stats at scrape time, so the data path pays
// nothing for metrics beyond its own atomic counters.
type collector struct{ e *Engine }

var (
	backendLabels = []string{"service", "backend", "group"}

	descActive = prometheus.NewDesc("tsgw_proxy_backend_connections_active",
		"Connections currently forwarded to the backend.", backendLabels, nil)
	descTotal = prometheus.NewDesc("tsgw_proxy_backend_connections_total",
		"Connections forwarded to the backend.", backendLabels, nil)
	descFailed = prometheus.NewDesc("tsgw_proxy_backend_dial_failures_total",
		"Dials to the backend that failed (each was retried on another backend).", backendLabels, nil)
	descBytes = prometheus.NewDesc("tsgw_proxy_backend_bytes_total",
		"Bytes forwarded, by direction (up: client to backend), counted when connections close.",
		append(backendLabels, "direction"), nil)
	descHealthy = prometheus.NewDesc("tsgw_proxy_backend_healthy",
		"1 if the backend receives traffic (active checks and passive ejection combined).", backendLabels, nil)
	descEjected = prometheus.NewDesc("tsgw_proxy_backend_ejected",
		"1 if passive outlier detection has ejected the backend.", backendLabels, nil)
	descPanic = prometheus.NewDesc("tsgw_proxy_service_panic",
		"1 if no backend is healthy and all are tried (panic mode).", []string{"service"}, nil)
	descUnserved = prometheus.NewDesc("tsgw_proxy_service_unserved_connections_total",
		"Client connections closed because no backend could be dialed.", []string{"service"}, nil)
	descTier = prometheus.NewDesc("tsgw_proxy_service_active_tier",
		"1 for the failover tier taking traffic.", []string{"service", "tier"}, nil)
)

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descActive, descTotal, descFailed, descBytes, descHealthy,
		descEjected, descPanic, descUnserved, descTier} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.e.Stats() {
		ch <- prometheus.MustNewConstMetric(descPanic, prometheus.GaugeValue, boolValue(s.Panic), s.Name)
		ch <- prometheus.MustNewConstMetric(descUnserved, prometheus.CounterValue, float64(s.Unserved), s.Name)
		if s.Strategy == proxyconfig.StrategyFailover {
			ch <- prometheus.MustNewConstMetric(descTier, prometheus.GaugeValue, 1, s.Name, string(s.ActiveTier))
		}
		for _, b := range s.Backends {
			l := []string{s.Name, b.Name, b.Group}
			ch <- prometheus.MustNewConstMetric(descActive, prometheus.GaugeValue, float64(b.Active), l...)
			ch <- prometheus.MustNewConstMetric(descTotal, prometheus.CounterValue, float64(b.Total), l...)
			ch <- prometheus.MustNewConstMetric(descFailed, prometheus.CounterValue, float64(b.Failed), l...)
			ch <- prometheus.MustNewConstMetric(descBytes, prometheus.CounterValue, float64(b.BytesUp), append(l, "up")...)
			ch <- prometheus.MustNewConstMetric(descBytes, prometheus.CounterValue, float64(b.BytesDown), append(l, "down")...)
			ch <- prometheus.MustNewConstMetric(descHealthy, prometheus.GaugeValue, boolValue(b.Healthy), l...)
			ch <- prometheus.MustNewConstMetric(descEjected, prometheus.GaugeValue, boolValue(b.Ejected), l...)
		}
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

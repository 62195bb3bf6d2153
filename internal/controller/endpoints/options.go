package endpoints

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
)

// AdminPort is where tsgw-proxy serves /healthz and /readyz, plainly.
const AdminPort = pool.AdminPort

// MetricsPort is where tsgw-proxy serves /metrics over HTTPS, to callers
// the API server authenticates and authorises.
const MetricsPort = pool.MetricsPort

// adminPortName and metricsPortName name AdminPort and MetricsPort on the
// container and the Service.
const (
	adminPortName   = "admin"
	metricsPortName = "metrics"
)

// componentProxy is the LabelComponent value of every object of a pool.
const componentProxy = "proxy"

// ProxyOptions are what the builders need besides the pool itself.
type ProxyOptions struct {
	// Image of tsgw-proxy.
	Image string
	// Resources of the proxy container; zero means DefaultProxyResources.
	Resources corev1.ResourceRequirements
}

// DefaultProxyResources requests what one userspace tsnet proxy needs at
// rest; no limits, so bursts of traffic are not throttled.
func DefaultProxyResources() corev1.ResourceRequirements {
	return corev1.ResourceRequirements{Requests: corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("50m"),
		corev1.ResourceMemory: resource.MustParse("64Mi"),
	}}
}

func (o ProxyOptions) resources() corev1.ResourceRequirements {
	if len(o.Resources.Requests) == 0 && len(o.Resources.Limits) == 0 {
		return DefaultProxyResources()
	}
	return o.Resources
}

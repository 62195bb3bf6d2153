// Package proxyconfig is the configuration file of tsgw-proxy: which
// addresses to listen on, and how each service balances and health-checks its
// backends. The operator renders the same format into each pool's ConfigMap,
// so the types here are the contract between control plane and data plane.
//
// Files are YAML or JSON (JSON is YAML). Unknown fields are errors.
package proxyconfig

// Config is the whole file.
type Config struct {
	// Admin serves /healthz, /readyz and /metrics (a pod given
	// --metrics-address serves /metrics there instead). Optional.
	Admin *Admin `json:"admin,omitempty"`
	// Listeners accept connections for services.
	Listeners []Listener `json:"listeners"`
	// Services are the load-balanced services, by name.
	Services []Service `json:"services"`
	// Tailnet makes the proxy a tailnet node (pod mode). Required by
	// listeners and backends on the tailnet network; standalone mode
	// refuses it.
	Tailnet *Tailnet `json:"tailnet,omitempty"`
}

// Networks a listener or backend can be on.
const (
	// NetworkTCP is the host's own network (the default).
	NetworkTCP = "tcp"
	// NetworkTailnet is the proxy's tailnet node: listeners bind its
	// tailnet addresses, backends are dialed through the tailnet.
	NetworkTailnet = "tailnet"
	// NetworkPod, for listeners in pod mode, is the pod's own address
	// (POD_IP; every address when unset): in-cluster clients come in
	// there. Standalone mode has no pod, so it refuses it.
	NetworkPod = "pod"
)

// Tailnet says how the proxy joins its tailnet.
type Tailnet struct {
	// ControlURL is the coordination server.
	ControlURL string `json:"controlURL"`
	// Tags the node advertises.
	Tags []string `json:"tags,omitempty"`
}

// Admin is the operational HTTP endpoint.
type Admin struct {
	// Address is host:port, e.g. "127.0.0.1:9090".
	Address string `json:"address"`
}

// Listener accepts TCP connections and hands them to a service.
type Listener struct {
	// Address is host:port to listen on.
	Address string `json:"address"`
	// Service names an entry of services.
	Service string `json:"service"`
	// Network is tcp (default), tailnet or pod.
	Network string `json:"network,omitempty"`
	// VIPService, on the tailnet network, advertises and serves this
	// Tailscale VIP service ("svc:name") on the port of Address instead
	// of the node's own addresses.
	VIPService string `json:"vipService,omitempty"`
}

// Service is one load-balanced service.
type Service struct {
	// Name is unique within the file.
	Name string `json:"name"`
	// Strategy is round-robin (default), least-connections, weighted or failover.
	Strategy Strategy `json:"strategy,omitempty"`
	// FailbackDelay (failover only) is how long a higher tier must stay healthy
	// without a break before traffic returns to it. Default 0: at once.
	FailbackDelay Duration `json:"failbackDelay,omitempty"`
	// ConnectTimeout bounds each dial to a backend. Default 5s.
	ConnectTimeout Duration `json:"connectTimeout,omitempty"`
	// IdleTimeout closes connections that carried no data in either direction
	// for this long (detected within 1–2× the value). Default 0: never.
	IdleTimeout Duration `json:"idleTimeout,omitempty"`
	// HealthCheck configures active checks. Omitted: checks disabled.
	HealthCheck HealthCheck `json:"healthCheck,omitempty"`
	// OutlierDetection configures passive ejection. Omitted: Envoy's defaults.
	OutlierDetection *OutlierDetection `json:"outlierDetection,omitempty"`
	// Backends are where connections go.
	Backends []Backend `json:"backends"`
}

// Health-check protocols.
const (
	ProtocolHTTP  = "HTTP"
	ProtocolHTTPS = "HTTPS"
	ProtocolTCP   = "TCP"
	ProtocolUDP   = "UDP"
)

// HealthCheck configures active checks for every backend of a service.
type HealthCheck struct {
	Enabled bool `json:"enabled,omitempty"`
	// Protocol is HTTP, HTTPS, TCP or UDP. Default: HTTP when path is set,
	// TCP otherwise. A backend's protocol overrides it.
	Protocol string `json:"protocol,omitempty"`
	// Path is requested by HTTP(S) checks.
	Path string `json:"path,omitempty"`
	// Interval between checks (jittered by ±10%). Default 10s.
	Interval Duration `json:"interval,omitempty"`
	// Timeout of one check; must be below interval. Default 5s or half the
	// interval if that is shorter.
	Timeout Duration `json:"timeout,omitempty"`
	// HealthyThreshold consecutive passes make an unhealthy backend healthy.
	// Default 2. (A new backend is healthy after its first pass.)
	HealthyThreshold int `json:"healthyThreshold,omitempty"`
	// UnhealthyThreshold consecutive failures make a backend unhealthy.
	// Default 3.
	UnhealthyThreshold int `json:"unhealthyThreshold,omitempty"`
	// TLS configures HTTPS checks.
	TLS *TLS `json:"tls,omitempty"`
}

// TLS configures how HTTPS checks verify backends.
type TLS struct {
	// ServerName to verify; default: the backend address's host.
	ServerName string `json:"serverName,omitempty"`
	// CAFile is a PEM bundle of roots; default: the system roots.
	CAFile string `json:"caFile,omitempty"`
	// CA is PEM certificates trusted beside the system roots (the operator
	// inlines an external service's CA bundle here).
	CA string `json:"ca,omitempty"`
	// InsecureSkipVerify accepts any certificate.
	InsecureSkipVerify bool `json:"insecureSkipVerify,omitempty"`
}

// OutlierDetection configures passive ejection on consecutive dial failures.
type OutlierDetection struct {
	// ConsecutiveFailures eject a backend. Default 5.
	ConsecutiveFailures int `json:"consecutiveFailures,omitempty"`
	// BaseEjectionTime is multiplied by the number of ejections. Default 30s.
	BaseEjectionTime Duration `json:"baseEjectionTime,omitempty"`
	// MaxEjectionTime caps one ejection. Default 300s.
	MaxEjectionTime Duration `json:"maxEjectionTime,omitempty"`
}

// Backend is one destination.
type Backend struct {
	// Name is unique within the service; health and counters follow it.
	Name string `json:"name"`
	// Address is host:port.
	Address string `json:"address"`
	// Group shares weighted traffic (e.g. one TailscaleEndpoints pool).
	// Default: the backend's name.
	Group string `json:"group,omitempty"`
	// Weight is the weight of the backend's group for the weighted strategy.
	// Default 1. Backends of one group that set a weight must agree; 0 sends
	// the group no traffic.
	Weight *int `json:"weight,omitempty"`
	// Tier is primary, secondary or other (default) for failover.
	Tier Tier `json:"tier,omitempty"`
	// Protocol overrides the health-check protocol for this backend.
	Protocol string `json:"protocol,omitempty"`
	// Network is tcp (default) or tailnet: dialed through the tailnet,
	// such as another pool's machine.
	Network string `json:"network,omitempty"`
	// TLS overrides healthCheck.tls for this backend's HTTPS checks.
	TLS *TLS `json:"tls,omitempty"`
}

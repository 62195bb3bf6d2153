package podmode

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
	"github.com/tailscale-gateway/tailscale-gateway/internal/proxy/admin"
)

// Identity is who this machine is: set by the StatefulSet's pod template.
type Identity struct {
	Pod       string
	Namespace string
	Pool      string
	// IP is the pod's address, where listeners on the pod network bind;
	// empty: every address.
	IP string
}

// IdentityFromEnv reads POD_NAME, POD_NAMESPACE and TSGW_POOL, and POD_IP
// if set.
func IdentityFromEnv(getenv func(string) string) (Identity, error) {
	id := Identity{
		Pod: getenv(pool.EnvPodName), Namespace: getenv(pool.EnvPodNamespace), Pool: getenv(pool.EnvPool),
		IP: getenv(pool.EnvPodIP),
	}
	var missing []error
	for _, env := range []string{pool.EnvPodName, pool.EnvPodNamespace, pool.EnvPool} {
		if getenv(env) == "" {
			missing = append(missing, fmt.Errorf("%s is not set", env))
		}
	}
	return id, errors.Join(missing...)
}

// Options configure Run.
type Options struct {
	Identity Identity
	// Kube reaches the API server with the pod's identity. Only these are
	// used: get/list/watch of the pool's ConfigMap (by name), get of the
	// pod's auth key Secret, get/update of its state Secret.
	Kube kubernetes.Interface
	// AdminAddress serves /healthz, /readyz (and /metrics, unless
	// MetricsAddress is set); empty: the configuration's admin.address,
	// if any.
	AdminAddress string
	// MetricsAddress, if set, serves /metrics there over HTTPS, each
	// request authenticated and authorised by the API server through
	// MetricsFilter (required then), and not on AdminAddress.
	MetricsAddress string
	// MetricsFilter guards MetricsAddress: AuthFilter, normally.
	MetricsFilter admin.Filter
	// StateDir is tsnet's working directory (an emptyDir in pods); the
	// node's identity is kept in the state Secret, not here. Default:
	// tsgw-proxy-<pod> in the temporary directory, so that several pods
	// run as processes of one host (the lab) do not share it.
	StateDir string
	// DrainTimeout bounds the wait for connections on shutdown. Default
	// pool.DrainTimeout, which the pod's termination grace period covers.
	DrainTimeout time.Duration
	// CounterInterval is the least time between two reports that differ
	// only in connection counters. Default 30s: counters change with every
	// connection, and each write wakes the operator.
	CounterInterval time.Duration
	// Heartbeat is the longest time between two reports, written even
	// when nothing changed so that the pool's status shows the machine is
	// alive (lastSeen). Default 5m.
	Heartbeat time.Duration
	// ReportInterval is how often the report is recomputed (and written
	// if it changed). Default 1s.
	ReportInterval time.Duration
	Logger         *slog.Logger
	// Serving, if set, is called once the first configuration is applied
	// on the tailnet, with the admin address (nil if none).
	Serving func(admin net.Addr)
}

func (o Options) withDefaults() Options {
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = pool.DrainTimeout
	}
	if o.CounterInterval <= 0 {
		o.CounterInterval = 30 * time.Second
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = 5 * time.Minute
	}
	if o.ReportInterval <= 0 {
		o.ReportInterval = time.Second
	}
	if o.StateDir == "" {
		o.StateDir = filepath.Join(os.TempDir(), "tsgw-proxy-"+o.Identity.Pod)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

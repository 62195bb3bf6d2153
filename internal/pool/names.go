// Package pool is the contract between the operator and the proxy machines of
// a pool (a TailscaleEndpoints): the names of the objects the operator creates
// for a pool, and the report each machine writes into its own state Secret.
// Both sides import it, so they cannot drift apart.
package pool

import (
	"fmt"
	"time"
)

// Object names of a pool. The StatefulSet is named like the pool, so its pods
// (the machines) are <pool>-0, <pool>-1, … as the specification's status shows.
// Everything else carries a -proxy suffix so that the Service named like the
// pool stays free for the pool's default backend.

// StatefulSetName is the name of the pool's StatefulSet.
func StatefulSetName(pool string) string { return pool }

// ConfigMapName is the name of the ConfigMap the pool's proxies read.
func ConfigMapName(pool string) string { return pool + "-proxy" }

// ServiceAccountName is the identity of the pool's proxies; the Role and
// RoleBinding share the name.
func ServiceAccountName(pool string) string { return pool + "-proxy" }

// HeadlessServiceName is the governing Service of the StatefulSet.
func HeadlessServiceName(pool string) string { return pool + "-proxy" }

// PodDisruptionBudgetName is the name of the pool's PodDisruptionBudget.
func PodDisruptionBudgetName(pool string) string { return pool + "-proxy" }

// PodName is the name of the machine with the given ordinal.
func PodName(pool string, ordinal int) string { return fmt.Sprintf("%s-%d", pool, ordinal) }

// AuthKeySecretName holds the auth key minted once for a machine, and
// what the operator knows of the machine's identity in the tailnet. The
// operator is its only writer; the machine may only read it.
func AuthKeySecretName(pod string) string { return pod + "-authkey" }

// StateSecretName holds a machine's tailnet state (Tailscale's Kubernetes
// state store) and its report (StatusKey).
func StateSecretName(pod string) string { return pod + "-state" }

// Keys of the Secrets and ConfigMap.
const (
	// AuthKeyKey is the key of the auth key in the auth key Secret.
	AuthKeyKey = "authkey"
	// AuthKeyIDKey is the key of the auth key's API ID (to revoke it).
	AuthKeyIDKey = "authkey-id"
	// AuthKeyExpiresKey is when the auth key stops admitting machines
	// (RFC 3339), so that a key that expired unused is replaced.
	AuthKeyExpiresKey = "authkey-expires"
	// HostnameKey is the machine's tailnet hostname (MachineHostname),
	// chosen by the operator when it mints the key and never changed; the
	// machine joins under it.
	HostnameKey = "hostname"
	// AuthKeyCreatedKey is when the API created the key (RFC 3339, the
	// API's clock): the machine's device cannot be older.
	AuthKeyCreatedKey = "authkey-created"
	// AuthKeyTagsKey are the key's tags, comma-separated: the tags its
	// device was created with.
	AuthKeyTagsKey = "authkey-tags"
	// DeviceIDKey is the machine's device, as the operator found it in the
	// API (never as the machine reports it: its state Secret is the
	// machine's to write).
	DeviceIDKey = "device-id"
	// StatusKey is the key of the machine's report in its state Secret.
	StatusKey = "tsgw-status"
	// ConfigKey is the key of the proxy configuration in the ConfigMap.
	ConfigKey = "config.yaml"
)

// Labels on every object of a pool.
const (
	// LabelPool carries the pool (TailscaleEndpoints) name.
	LabelPool = "gateway.tailscale.com/pool"
	// LabelPoolNamespace carries the pool's namespace on its cluster-scoped
	// objects (its ClusterRoleBinding), which have no namespace of their own.
	LabelPoolNamespace = "gateway.tailscale.com/pool-namespace"
	// LabelComponent says what the object is for.
	LabelComponent = "app.kubernetes.io/component"
	// LabelManagedBy marks objects the operator manages.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// ManagedBy is the value of LabelManagedBy.
	ManagedBy = "tailscale-gateway"
)

// AdminPort is where a proxy pod serves /healthz and /readyz, plainly for
// the kubelet's probes: the StatefulSet's probes and the proxy
// configuration both use it.
const AdminPort = 9002

// MetricsPort is where a proxy pod serves /metrics, over HTTPS to callers
// the API server authenticates and authorises (TokenReview, then a
// SubjectAccessReview for GET /metrics), like the operator's own metrics.
const MetricsPort = 9003

// ProxyAuthClusterRole lets a proxy ask the API server who is calling its
// /metrics and whether they may (create TokenReviews and
// SubjectAccessReviews). It is installed with the operator (config/rbac,
// the chart) under this fixed name, the only ClusterRole the operator may
// bind; each pool gets a ClusterRoleBinding of it (ProxyAuthBindingName).
const ProxyAuthClusterRole = "tsgw-proxy-auth-delegator"

// ProxyAuthBindingName names the pool's ClusterRoleBinding of
// ProxyAuthClusterRole. It is cluster-scoped, so it names the namespace
// too; ':' occurs in neither a namespace's name nor a pool's, so no two
// pools share one.
func ProxyAuthBindingName(namespace, poolName string) string {
	return ProxyAuthClusterRole + ":" + namespace + ":" + poolName
}

// Shutdown of a proxy pod. The pod's termination grace period must cover
// all of it, or the kubelet kills the proxy mid-drain.
const (
	// DrainTimeout is how long a stopping proxy waits for its connections.
	DrainTimeout = 30 * time.Second
	// ShutdownSlack bounds what a stopping proxy does besides draining:
	// withdrawing its VIP services and writing two reports.
	ShutdownSlack = 10 * time.Second
	// TerminationGracePeriod is what the pool's pods are given to stop:
	// the drain, the rest of the shutdown and a margin.
	TerminationGracePeriod = DrainTimeout + ShutdownSlack + 5*time.Second
)

// Environment of a proxy pod, set by the StatefulSet.
const (
	EnvPodName      = "POD_NAME"
	EnvPodNamespace = "POD_NAMESPACE"
	EnvPool         = "TSGW_POOL"
	EnvPodIP        = "POD_IP"
)

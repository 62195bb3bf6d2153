package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// TailscaleServicesSpec describes a load-balanced VIP service.
type TailscaleServicesSpec struct {
	// selector chooses the TailscaleEndpoints (in this namespace) whose
	// machines serve the VIP service. {} selects all of them.
	// +kubebuilder:validation:XValidation:rule="!has(self.matchExpressions) || self.matchExpressions.all(e, e.operator in ['In', 'NotIn', 'Exists', 'DoesNotExist'])",message="selector.matchExpressions[].operator must be one of In, NotIn, Exists, DoesNotExist"
	// +kubebuilder:validation:XValidation:rule="!has(self.matchExpressions) || self.matchExpressions.all(e, !(e.operator in ['In', 'NotIn']) || (has(e.values) && size(e.values) > 0))",message="selector.matchExpressions[].values must be non-empty when the operator is In or NotIn"
	// +kubebuilder:validation:XValidation:rule="!has(self.matchExpressions) || self.matchExpressions.all(e, !(e.operator in ['Exists', 'DoesNotExist']) || !has(e.values) || size(e.values) == 0)",message="selector.matchExpressions[].values must be empty when the operator is Exists or DoesNotExist; remove values"
	Selector metav1.LabelSelector `json:"selector"`

	// vipService configures the Tailscale VIP service.
	// +optional
	VIPService *VIPServiceSpec `json:"vipService,omitempty"`

	// loadBalancing chooses how connections are spread over the backends.
	// +optional
	LoadBalancing *LoadBalancingSpec `json:"loadBalancing,omitempty"`

	// serviceDiscovery attaches to existing VIP services and adds external
	// backends.
	// +optional
	ServiceDiscovery *ServiceDiscoverySpec `json:"serviceDiscovery,omitempty"`

	// endpointTemplate, when set, creates a TailscaleEndpoints named
	// <name>-auto from it whenever the selector matches none.
	// +optional
	EndpointTemplate *EndpointTemplate `json:"endpointTemplate,omitempty"`

	// clusterService configures the in-cluster Service <name>-vip, through
	// which clients in the cluster (and Envoy Gateway routes) reach the VIP
	// service. When omitted, it is made.
	// +optional
	ClusterService *ClusterServiceSpec `json:"clusterService,omitempty"`
}

// ClusterServiceSpec configures the in-cluster Service <name>-vip.
type ClusterServiceSpec struct {
	// enabled, true by default, makes the Service <name>-vip in this
	// namespace, whose endpoints are the proxies serving the VIP service on
	// pod ports, balanced like the VIP service. false makes none and deletes
	// the one Tailscale Gateway made (a Service of that name it did not make
	// is left alone); the proxies stop serving the pod ports, condition
	// ClusterServiceReady says Disabled, and the VIP service in the tailnet
	// is not affected. Clients in the cluster and Envoy Gateway routes
	// then cannot reach the VIP service this way.
	// +kubebuilder:default=true
	// +optional
	Enabled *bool `json:"enabled,omitempty"`
}

// VIPServiceSpec configures the Tailscale VIP service.
type VIPServiceSpec struct {
	// name of the VIP service, svc:<dns-label>. Defaults to svc:<metadata.name>.
	// +optional
	Name VIPServiceName `json:"name,omitempty"`

	// ports the VIP service exposes, such as tcp:80. Defaults to the union
	// of the selected endpoints' ports.
	// +kubebuilder:validation:MaxItems=32
	// +listType=atomic
	// +optional
	Ports []VIPServicePort `json:"ports,omitempty"`

	// tags of the VIP service.
	// +kubebuilder:validation:MaxItems=32
	// +listType=atomic
	// +optional
	Tags []Tag `json:"tags,omitempty"`

	// comment shown with the VIP service in the admin console.
	// +kubebuilder:validation:MaxLength=512
	// +optional
	Comment string `json:"comment,omitempty"`

	// autoApprove makes the operator ensure the tailnet policy lets the
	// proxies' tags host the service.
	// +optional
	AutoApprove bool `json:"autoApprove,omitempty"`

	// annotations sent with the VIP service as given.
	// +kubebuilder:validation:MaxProperties=64
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`

	// sharing lets other TailscaleServices (in other namespaces, or other
	// clusters' operators on the same tailnet) use this VIP service too.
	// Both sides must agree: the owner sets allow and the joiner sets join.
	// Without both, a service of the same name is a Conflict, never joined.
	// +optional
	Sharing *VIPServiceSharing `json:"sharing,omitempty"`
}

// VIPServiceSharing is this TailscaleServices' side of sharing its VIP
// service. Give every party both fields to share it among equals: the
// first to create the service owns it and the others join.
// +kubebuilder:validation:XValidation:rule="has(self.allow) || has(self.join)",message="vipService.sharing is empty: set allow: true to let others join the VIP service this TailscaleServices owns, join: true to join one another TailscaleServices owns, or remove sharing"
type VIPServiceSharing struct {
	// allow lets other TailscaleServices join the VIP service while this
	// one owns it. Withdrawing it makes those that joined report a
	// Conflict and stop hosting the service; the service stays.
	// +optional
	Allow bool `json:"allow,omitempty"`

	// join asks to share the VIP service when another TailscaleServices
	// owns it and allows sharing. Naming the service in
	// serviceDiscovery.vipServiceSelector.serviceNames (with
	// discoverVIPServices) asks the same.
	// +optional
	Join bool `json:"join,omitempty"`
}

// Strategy is a load-balancing strategy.
// +kubebuilder:validation:Enum=round-robin;least-connections;weighted;failover
type Strategy string

// Strategy values.
const (
	StrategyRoundRobin       Strategy = "round-robin"
	StrategyLeastConnections Strategy = "least-connections"
	StrategyWeighted         Strategy = "weighted"
	StrategyFailover         Strategy = "failover"
)

// LoadBalancingSpec chooses how connections are spread over the backends.
// +kubebuilder:validation:XValidation:rule="self.strategy != 'failover' || has(self.failoverConfig)",message="loadBalancing.failoverConfig is required when strategy is failover: list primaryEndpoints (and optionally secondaryEndpoints)",fieldPath=".failoverConfig",reason=FieldValueRequired
type LoadBalancingSpec struct {
	// strategy: round-robin (default), least-connections, weighted or failover.
	// +kubebuilder:default=round-robin
	// +optional
	Strategy Strategy `json:"strategy,omitempty"`

	// healthCheck is the service-level active health check of every backend.
	// +optional
	HealthCheck *HealthCheckSpec `json:"healthCheck,omitempty"`

	// weights by TailscaleEndpoints name, used by the weighted strategy. An
	// unlisted pool gets weight 1; 0 sends it no traffic.
	// +kubebuilder:validation:MaxProperties=128
	// +kubebuilder:validation:XValidation:rule="self.all(k, self[k] >= 0)",message="loadBalancing.weights: every weight must be 0 or more (0 sends a pool no traffic)"
	// +optional
	Weights map[string]int32 `json:"weights,omitempty"`

	// failoverConfig lists the tiers of the failover strategy.
	// +optional
	FailoverConfig *FailoverConfig `json:"failoverConfig,omitempty"`
}

// HealthCheckSpec is an active health check.
// +kubebuilder:validation:XValidation:rule="!has(self.timeout) || !has(self.interval) || duration(self.timeout) < duration(self.interval)",message="healthCheck.timeout must be shorter than healthCheck.interval",fieldPath=".timeout"
type HealthCheckSpec struct {
	// enabled turns active checks on. When off, every backend is healthy
	// unless passive detection ejects it.
	// +optional
	Enabled bool `json:"enabled,omitempty"`

	// path of an HTTP GET check; 2xx and 3xx pass. Without a path the check
	// is a TCP connect (or the external service's own protocol).
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:XValidation:rule="self.startsWith('/')",message="healthCheck.path must start with /, for example /health"
	// +optional
	Path string `json:"path,omitempty"`

	// interval between checks, a Go duration (default 10s).
	// +optional
	Interval Duration `json:"interval,omitempty"`

	// timeout of one check, a Go duration shorter than interval (default 2s).
	// +optional
	Timeout Duration `json:"timeout,omitempty"`

	// healthyThreshold: consecutive passes that make an unhealthy backend healthy.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	// +optional
	HealthyThreshold int32 `json:"healthyThreshold,omitempty"`

	// unhealthyThreshold: consecutive failures that make a backend unhealthy.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	// +optional
	UnhealthyThreshold int32 `json:"unhealthyThreshold,omitempty"`
}

// FailoverConfig lists the tiers of the failover strategy by
// TailscaleEndpoints name; selected pools in neither list form a last tier.
type FailoverConfig struct {
	// primaryEndpoints get traffic while any of their machines is healthy.
	// +kubebuilder:validation:MaxItems=64
	// +listType=atomic
	// +optional
	PrimaryEndpoints []string `json:"primaryEndpoints,omitempty"`

	// secondaryEndpoints get traffic when no primary is healthy.
	// +kubebuilder:validation:MaxItems=64
	// +listType=atomic
	// +optional
	SecondaryEndpoints []string `json:"secondaryEndpoints,omitempty"`

	// failbackDelay: how long a higher tier must stay healthy, without a
	// break, before traffic returns to it (a Go duration).
	// +optional
	FailbackDelay Duration `json:"failbackDelay,omitempty"`
}

// ServiceDiscoverySpec attaches to existing VIP services and adds external backends.
type ServiceDiscoverySpec struct {
	// discoverVIPServices looks up the tailnet's VIP services matched by
	// vipServiceSelector and uses a matching existing service instead of
	// creating or overwriting it: one made outside Tailscale Gateway as it
	// is, one another TailscaleServices owns only by consent (see
	// vipService.sharing).
	// +optional
	DiscoverVIPServices bool `json:"discoverVIPServices,omitempty"`

	// vipServiceSelector matches VIP services by name or tags.
	// +optional
	VIPServiceSelector *VIPServiceSelector `json:"vipServiceSelector,omitempty"`

	// externalServices are backends outside the cluster that join the pool.
	// +kubebuilder:validation:MaxItems=64
	// +listType=map
	// +listMapKey=name
	// +optional
	ExternalServices []ExternalService `json:"externalServices,omitempty"`
}

// VIPServiceSelector matches existing VIP services: those named in
// serviceNames, or those carrying every listed tag.
type VIPServiceSelector struct {
	// tags a matching service carries (all of them).
	// +kubebuilder:validation:MaxItems=32
	// +listType=atomic
	// +optional
	Tags []Tag `json:"tags,omitempty"`

	// serviceNames of matching services. Naming a service here asks to
	// join it, like vipService.sharing.join.
	// +kubebuilder:validation:MaxItems=64
	// +listType=atomic
	// +optional
	ServiceNames []VIPServiceName `json:"serviceNames,omitempty"`
}

// ExternalProtocol is the protocol of an external service.
// +kubebuilder:validation:Enum=HTTP;HTTPS;TCP;UDP
type ExternalProtocol string

// ExternalService is a backend outside the cluster.
type ExternalService struct {
	// name of the backend, unique in the list; it names its group in status.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`

	// address: DNS name or IP of the backend.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Address string `json:"address"`

	// port of the backend, 1-65535.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port"`

	// protocol used to health check the backend: HTTP, HTTPS, TCP or UDP.
	// +kubebuilder:default=TCP
	// +optional
	Protocol ExternalProtocol `json:"protocol,omitempty"`

	// weight of this backend under the weighted strategy (default 1).
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000000
	// +optional
	Weight *int32 `json:"weight,omitempty"`

	// caBundle names a key of a Secret in this namespace holding PEM CA
	// certificates that, beside the system roots, verify an HTTPS backend.
	// Only the CERTIFICATE blocks are used; while the Secret or key is
	// missing or holds none, this external service gets no traffic and
	// ExternalServicesReady says why.
	// +optional
	CABundle *SecretKeyReference `json:"caBundle,omitempty"`
}

// SecretKeyReference names one key of a Secret in the same namespace.
type SecretKeyReference struct {
	// name of the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// key in the Secret.
	// +kubebuilder:default="ca.crt"
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Key string `json:"key,omitempty"`
}

// EndpointTemplate is the TailscaleEndpoints auto-provisioned when the
// selector matches none.
type EndpointTemplate struct {
	// tailnet of the created TailscaleEndpoints.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Tailnet string `json:"tailnet,omitempty"`

	// tags of the created TailscaleEndpoints.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	// +listType=atomic
	Tags []Tag `json:"tags"`

	// proxy of the created TailscaleEndpoints.
	Proxy ProxySpec `json:"proxy"`

	// labels of the created TailscaleEndpoints; they must satisfy the selector.
	// +kubebuilder:validation:MinProperties=1
	// +kubebuilder:validation:MaxProperties=64
	Labels map[string]string `json:"labels"`

	// backend of the created TailscaleEndpoints. When omitted, the Service
	// named like the TailscaleServices.
	// +optional
	Backend *EndpointsBackend `json:"backend,omitempty"`
}

package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// TailscaleServicesStatus is the VIP service as it is.
type TailscaleServicesStatus struct {
	// serviceInfo shows how operators sharing the VIP service coordinate.
	// +optional
	ServiceInfo *ServiceInfo `json:"serviceInfo,omitempty"`

	// selectedEndpoints are the pools the selector matches.
	// +listType=atomic
	// +optional
	SelectedEndpoints []SelectedEndpoint `json:"selectedEndpoints,omitempty"`

	// vipServiceStatus describes the VIP service in the tailnet.
	// +optional
	VIPServiceStatus *VIPServiceStatus `json:"vipServiceStatus,omitempty"`

	// loadBalancingStatus describes how traffic is spread.
	// +optional
	LoadBalancingStatus *LoadBalancingStatus `json:"loadBalancingStatus,omitempty"`

	// clusterServiceName is the Kubernetes Service in this namespace that
	// serves the VIP service inside the cluster, through the same proxies
	// and balancing (Envoy Gateway's extension points routes at it); empty
	// until it is in place (condition ClusterServiceReady).
	// +optional
	ClusterServiceName string `json:"clusterServiceName,omitempty"`

	// tailnet is the TailscaleTailnet whose tailnet holds the VIP service
	// this TailscaleServices uses, recorded once it is created or found
	// there. Deleting the TailscaleServices releases the service from this
	// tailnet even when its pools are gone; when the pools move to another
	// tailnet, the service is released from this one before it is created
	// in theirs.
	// +optional
	Tailnet string `json:"tailnet,omitempty"`

	// observedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Ready, Selected, VIPServiceReady, ClusterServiceReady, Healthy.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// ServiceInfo shows how operators sharing the VIP service coordinate.
type ServiceInfo struct {
	// multiOperatorService is true when more than one operator uses the service.
	MultiOperatorService bool `json:"multiOperatorService"`
	// ownerOperator is the ID of the operator that owns the service.
	// +optional
	OwnerOperator string `json:"ownerOperator,omitempty"`
	// consumerOperators are the IDs of the other operators using it.
	// +listType=atomic
	// +optional
	ConsumerOperators []string `json:"consumerOperators,omitempty"`
	// serviceRegistryKey identifies the service's registry entry.
	// +optional
	ServiceRegistryKey string `json:"serviceRegistryKey,omitempty"`
	// lastCoordination is when the registry was last read or written.
	// +optional
	LastCoordination *metav1.Time `json:"lastCoordination,omitempty"`
}

// SelectedEndpoint is one pool the selector matches.
type SelectedEndpoint struct {
	// name of the TailscaleEndpoints.
	Name string `json:"name"`
	// namespace of the TailscaleEndpoints.
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// status of the pool: Ready, Pending or Unavailable.
	// +optional
	Status string `json:"status,omitempty"`
	// machines of the pool.
	// +listType=atomic
	// +optional
	Machines []string `json:"machines,omitempty"`
	// lastSelected is when the pool was first seen matching the selector.
	// +optional
	LastSelected *metav1.Time `json:"lastSelected,omitempty"`
	// labels of the pool.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
	// healthStatus of the pool's machines as backends.
	// +optional
	HealthStatus *EndpointHealthStatus `json:"healthStatus,omitempty"`
}

// Values of SelectedEndpoint.Status.
const (
	// SelectedEndpointReady: a machine of the pool serves the service.
	SelectedEndpointReady = "Ready"
	// SelectedEndpointPending: no machine of the pool is ready yet.
	SelectedEndpointPending = "Pending"
	// SelectedEndpointUnavailable: machines are ready, none is healthy.
	SelectedEndpointUnavailable = "Unavailable"
)

// EndpointHealthStatus counts a pool's healthy and unhealthy machines.
type EndpointHealthStatus struct {
	// healthyMachines is the number of machines passing health checks.
	HealthyMachines int32 `json:"healthyMachines"`
	// unhealthyMachines is the number of machines failing them.
	UnhealthyMachines int32 `json:"unhealthyMachines"`
	// lastHealthCheck is when health was last reported.
	// +optional
	LastHealthCheck *metav1.Time `json:"lastHealthCheck,omitempty"`
}

// VIPServiceStatus describes the VIP service in the tailnet.
type VIPServiceStatus struct {
	// created is true when the VIP service exists in the tailnet.
	Created bool `json:"created"`
	// serviceName is the VIP service's name, svc:<name>.
	// +optional
	ServiceName string `json:"serviceName,omitempty"`
	// dnsName is the service's MagicDNS name.
	// +optional
	DNSName string `json:"dnsName,omitempty"`
	// addresses the tailnet assigned to the service.
	// +listType=atomic
	// +optional
	Addresses []string `json:"addresses,omitempty"`
	// backendCount is the number of backends.
	BackendCount int32 `json:"backendCount"`
	// healthyBackendCount is the number of healthy backends.
	HealthyBackendCount int32 `json:"healthyBackendCount"`
	// serviceTags are the VIP service's tags.
	// +listType=atomic
	// +optional
	ServiceTags []string `json:"serviceTags,omitempty"`
	// lastRegistration is when the service was last created or updated.
	// +optional
	LastRegistration *metav1.Time `json:"lastRegistration,omitempty"`
}

// LoadBalancingStatus describes how traffic is spread.
type LoadBalancingStatus struct {
	// strategy in effect.
	// +optional
	Strategy Strategy `json:"strategy,omitempty"`
	// endpointWeights are the effective weights by backend group.
	// +optional
	EndpointWeights map[string]int32 `json:"endpointWeights,omitempty"`
	// requestCounts are connections served, by backend group.
	// +optional
	RequestCounts map[string]int64 `json:"requestCounts,omitempty"`
	// failoverStatus of the failover strategy.
	// +optional
	FailoverStatus *FailoverStatus `json:"failoverStatus,omitempty"`
}

// FailoverStatus says which tier serves traffic and why.
type FailoverStatus struct {
	// activeTier: primary, secondary or other.
	// +optional
	ActiveTier string `json:"activeTier,omitempty"`
	// lastFailover is when the active tier last changed.
	// +optional
	LastFailover *metav1.Time `json:"lastFailover,omitempty"`
	// failoverReason says why it changed.
	// +optional
	FailoverReason string `json:"failoverReason,omitempty"`
}

// TailscaleServices is a load-balanced Tailscale VIP service
// (svc:web-service → web-service.<tailnet>.ts.net) whose backends are the
// machines of the TailscaleEndpoints its selector chooses.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=tss;tsvc,categories=tailscale
// +kubebuilder:printcolumn:name="Strategy",type=string,JSONPath=`.spec.loadBalancing.strategy`
// +kubebuilder:printcolumn:name="VIP Service",type=string,JSONPath=`.status.vipServiceStatus.serviceName`
// +kubebuilder:printcolumn:name="Healthy",type=integer,JSONPath=`.status.vipServiceStatus.healthyBackendCount`
// +kubebuilder:printcolumn:name="Backends",type=integer,JSONPath=`.status.vipServiceStatus.backendCount`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="DNS Name",type=string,JSONPath=`.status.vipServiceStatus.dnsName`,priority=1
// +kubebuilder:printcolumn:name="Tailnet",type=string,JSONPath=`.status.tailnet`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type TailscaleServices struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   TailscaleServicesSpec   `json:"spec"`
	Status TailscaleServicesStatus `json:"status,omitempty"`
}

// TailscaleServicesList is a list of TailscaleServices.
//
// +kubebuilder:object:root=true
type TailscaleServicesList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []TailscaleServices `json:"items"`
}

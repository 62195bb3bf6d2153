package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// AnnotationAutoProvisioned marks a TailscaleEndpoints that a
// TailscaleServices created from its endpointTemplate.
const AnnotationAutoProvisioned = "tailscale-gateway.com/auto-provisioned"

// TailscaleEndpointsSpec describes a pool of proxy machines.
type TailscaleEndpointsSpec struct {
	// tailnet is the name of the TailscaleTailnet the machines join.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Tailnet string `json:"tailnet,omitempty"`

	// tags the machines carry in the tailnet. They decide what the machines
	// may do under the tailnet policy, including hosting VIP services.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	// +listType=atomic
	Tags []Tag `json:"tags"`

	// proxy describes the machines: how many, which way, which ports.
	Proxy ProxySpec `json:"proxy"`

	// backend is what the machines forward to. When omitted, the Service
	// named like this TailscaleEndpoints, on the pool's ports.
	// +optional
	Backend *EndpointsBackend `json:"backend,omitempty"`
}

// EndpointsBackend is what a pool's machines forward to: a Service or fixed
// addresses, exactly one of them.
// +kubebuilder:validation:XValidation:rule="has(self.service) != has(self.addresses)",message="set exactly one of backend.service (a Service in this namespace) or backend.addresses (host:port list)"
type EndpointsBackend struct {
	// service is a Kubernetes Service in the same namespace; its ready
	// endpoints are balanced round-robin with health checks.
	// +optional
	Service *ServiceBackend `json:"service,omitempty"`

	// addresses are fixed host:port backends.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	// +listType=atomic
	// +optional
	Addresses []HostPort `json:"addresses,omitempty"`
}

// HostPort is a "host:port" address.
// +kubebuilder:validation:MaxLength=261
// +kubebuilder:validation:XValidation:rule="self.lastIndexOf(':') > 0 && self.substring(self.lastIndexOf(':') + 1).matches('^[0-9]{1,5}$') && int(self.substring(self.lastIndexOf(':') + 1)) >= 1 && int(self.substring(self.lastIndexOf(':') + 1)) <= 65535",message="must be host:port with a port between 1 and 65535, for example 10.0.0.7:8080 or [fd00::7]:8080"
type HostPort string

// ServiceBackend names a Service and one of its ports.
type ServiceBackend struct {
	// name of the Service.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`

	// port of the Service (its port number, not the target port) that every
	// pool port forwards to. Omitted: each pool port forwards to the
	// Service port with the same number.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +optional
	Port int32 `json:"port,omitempty"`
}

// Machine is one proxy machine of a pool as the tailnet knows it.
type Machine struct {
	// name of the machine's pod.
	Name string `json:"name"`
	// hostname in the tailnet.
	// +optional
	Hostname string `json:"hostname,omitempty"`
	// tailnetIPs are the machine's tailnet addresses.
	// +listType=atomic
	// +optional
	TailnetIPs []string `json:"tailnetIPs,omitempty"`
	// fqdn is the machine's MagicDNS name.
	// +optional
	FQDN string `json:"fqdn,omitempty"`
	// deviceID is the machine's device ID in the Tailscale API.
	// +optional
	DeviceID string `json:"deviceID,omitempty"`
	// ready is true when the machine is on the tailnet and forwarding.
	Ready bool `json:"ready"`
	// lastSeen is when the machine last reported.
	// +optional
	LastSeen *metav1.Time `json:"lastSeen,omitempty"`
}

// TailscaleEndpointsStatus is the pool as it is.
type TailscaleEndpointsStatus struct {
	// machines of the pool, one per replica.
	// +listType=map
	// +listMapKey=name
	// +optional
	Machines []Machine `json:"machines,omitempty"`

	// readyReplicas is the number of machines ready.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas"`

	// observedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Ready (the pool's objects are in place and its backend
	// resolves) and Available (at least one machine forwards).
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// TailscaleEndpoints is a pool of Tailscale proxy machines: a StatefulSet of
// tsgw-proxy pods joined to a tailnet with tags, forwarding to a backend.
// TailscaleServices choose pools by their labels.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=tsep,categories=tailscale
// +kubebuilder:printcolumn:name="Tailnet",type=string,JSONPath=`.spec.tailnet`
// +kubebuilder:printcolumn:name="Type",type=string,JSONPath=`.spec.proxy.connectionType`
// +kubebuilder:printcolumn:name="Replicas",type=integer,JSONPath=`.spec.proxy.replicas`
// +kubebuilder:printcolumn:name="Ready",type=integer,JSONPath=`.status.readyReplicas`
// +kubebuilder:printcolumn:name="Machines",type=string,JSONPath=`.status.machines[*].fqdn`,priority=1
// +kubebuilder:printcolumn:name="IPs",type=string,JSONPath=`.status.machines[*].tailnetIPs[0]`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type TailscaleEndpoints struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   TailscaleEndpointsSpec   `json:"spec"`
	Status TailscaleEndpointsStatus `json:"status,omitempty"`
}

// TailscaleEndpointsList is a list of TailscaleEndpoints.
//
// +kubebuilder:object:root=true
type TailscaleEndpointsList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []TailscaleEndpoints `json:"items"`
}

package v1alpha1

// Tag is a Tailscale ACL tag such as "tag:web".
// +kubebuilder:validation:MaxLength=128
// +kubebuilder:validation:XValidation:rule="self.matches('^tag:[a-zA-Z0-9][a-zA-Z0-9-]*$')",message="must be a Tailscale tag: the prefix tag: followed by letters, digits or dashes, for example tag:web"
type Tag string

// VIPServiceName is a Tailscale VIP service name: "svc:" and a DNS label.
// +kubebuilder:validation:MaxLength=67
// +kubebuilder:validation:XValidation:rule="self.matches('^svc:[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$')",message="must be svc: followed by a DNS label (lower-case letters, digits and dashes, at most 63, not starting or ending with a dash), for example svc:web-service"
type VIPServiceName string

// VIPServicePort is a protocol and port a VIP service exposes, such as "tcp:80".
// +kubebuilder:validation:MaxLength=9
// +kubebuilder:validation:XValidation:rule="self.matches('^(tcp|udp):[0-9]{1,5}$') && int(self.split(':')[1]) >= 1 && int(self.split(':')[1]) <= 65535",message="must be tcp:PORT or udp:PORT with PORT between 1 and 65535, for example tcp:443"
type VIPServicePort string

// Duration is a Go duration string such as "30s", "1m30s" or "500ms". It is
// kept as written (not re-rendered) so that what users apply is what they read.
// +kubebuilder:validation:MaxLength=32
// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+([.][0-9]+)?(ns|us|µs|ms|s|m|h))+$')",message="must be a non-negative Go duration with a unit, for example 30s, 1m30s or 500ms"
type Duration string

// Protocol of a proxy port.
// +kubebuilder:validation:Enum=TCP;UDP
type Protocol string

// Protocol values.
const (
	ProtocolTCP Protocol = "TCP"
	ProtocolUDP Protocol = "UDP"
)

// ConnectionType says which way a proxy pool carries traffic.
// +kubebuilder:validation:Enum=ingress;egress;bidirectional
type ConnectionType string

// ConnectionType values.
const (
	// ConnectionTypeIngress: tailnet clients reach the pool's backend through it.
	ConnectionTypeIngress ConnectionType = "ingress"
	// ConnectionTypeEgress: the cluster reaches tailnet services through it.
	ConnectionTypeEgress ConnectionType = "egress"
	// ConnectionTypeBidirectional: both.
	ConnectionTypeBidirectional ConnectionType = "bidirectional"
)

// ProxySpec describes the proxy machines of a pool.
type ProxySpec struct {
	// replicas is the number of proxy machines (pods) in the pool.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`

	// connectionType says which way the pool carries traffic: ingress
	// (tailnet clients to the backend), egress (cluster to the tailnet) or
	// bidirectional. Only ingress-capable pools host VIP services.
	// +optional
	ConnectionType ConnectionType `json:"connectionType,omitempty"`

	// ports the proxy machines listen on, on their tailnet addresses.
	// +kubebuilder:validation:MaxItems=32
	// +listType=atomic
	// +optional
	Ports []ProxyPort `json:"ports,omitempty"`

	// pod settings of the pool's pods: resources, placement and extra
	// metadata.
	// +optional
	Pod *ProxyPodSpec `json:"pod,omitempty"`
}

// ProxyPort is one port a proxy machine listens on.
type ProxyPort struct {
	// port number, 1-65535.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port"`

	// protocol of the port: TCP or UDP.
	// +kubebuilder:default=TCP
	// +optional
	Protocol Protocol `json:"protocol,omitempty"`

	// name of the port, for reference.
	// +kubebuilder:validation:MaxLength=63
	// +optional
	Name string `json:"name,omitempty"`
}

// SecretReference names a Secret.
type SecretReference struct {
	// name of the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// namespace of the Secret. For cluster-scoped owners it defaults to the
	// operator's namespace.
	// +kubebuilder:validation:MaxLength=63
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

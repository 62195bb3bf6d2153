package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// TailscaleTailnetSpec says how to reach one tailnet.
type TailscaleTailnetSpec struct {
	// apiBaseURL is the base URL of the Tailscale API.
	// +kubebuilder:default="https://api.tailscale.com"
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="self.startsWith('https://') || self.startsWith('http://')",message="must be an http:// or https:// URL, for example https://api.tailscale.com"
	// +optional
	APIBaseURL string `json:"apiBaseURL,omitempty"`

	// tailnet is the tailnet's name in the API; "-" means the tailnet of
	// the OAuth client.
	// +kubebuilder:default="-"
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Tailnet string `json:"tailnet,omitempty"`

	// oauthSecretRef names the Secret holding the OAuth client's
	// credentials under the keys client_id and client_secret. Its namespace
	// defaults to the operator's namespace.
	OAuthSecretRef SecretReference `json:"oauthSecretRef"`

	// coordinationServerURL is the control server the proxy machines join.
	// +kubebuilder:default="https://controlplane.tailscale.com"
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="self.startsWith('https://') || self.startsWith('http://')",message="must be an http:// or https:// URL, for example https://controlplane.tailscale.com"
	// +optional
	CoordinationServerURL string `json:"coordinationServerURL,omitempty"`

	// access says which namespaces may use the tailnet, with which tags and
	// VIP service names. Without it nobody may: every pool and service
	// naming the tailnet is refused with a condition that says to set
	// spec.access (namespaceSelector: {} lets every namespace use it, as a
	// single-team cluster wants).
	// +optional
	Access *TailnetAccess `json:"access,omitempty"`
}

// TailnetAccess is who may use a tailnet shared by several teams, and how.
// Pools (TailscaleEndpoints) and TailscaleServices outside it are refused
// before anything is created in the tailnet or the cluster for them.
type TailnetAccess struct {
	// namespaceSelector picks the namespaces whose TailscaleEndpoints and
	// TailscaleServices may use the tailnet; {} selects every namespace.
	// +kubebuilder:validation:XValidation:rule="!has(self.matchExpressions) || self.matchExpressions.all(e, e.operator in ['In', 'NotIn', 'Exists', 'DoesNotExist'])",message="namespaceSelector.matchExpressions[].operator must be one of In, NotIn, Exists, DoesNotExist"
	// +kubebuilder:validation:XValidation:rule="!has(self.matchExpressions) || self.matchExpressions.all(e, !(e.operator in ['In', 'NotIn']) || (has(e.values) && size(e.values) > 0))",message="namespaceSelector.matchExpressions[].values must be non-empty when the operator is In or NotIn"
	// +kubebuilder:validation:XValidation:rule="!has(self.matchExpressions) || self.matchExpressions.all(e, !(e.operator in ['Exists', 'DoesNotExist']) || !has(e.values) || size(e.values) == 0)",message="namespaceSelector.matchExpressions[].values must be empty when the operator is Exists or DoesNotExist; remove values"
	NamespaceSelector metav1.LabelSelector `json:"namespaceSelector"`

	// tags the pools' machines and the VIP services may carry; omitted:
	// any tag the OAuth client may use.
	// +kubebuilder:validation:MaxItems=64
	// +listType=set
	// +optional
	Tags []Tag `json:"tags,omitempty"`

	// vipServiceNamePrefix: every VIP service a namespace's
	// TailscaleServices creates or joins must be named svc:<prefix>...,
	// where "{namespace}" in the prefix stands for the namespace, e.g.
	// "{namespace}-" gives team-a's services svc:team-a-... Omitted: any name.
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="self.matches('^([a-z0-9-]|[{]namespace[}])*$')",message="must be lower-case letters, digits, dashes and the placeholder {namespace}, without svc: (it is implied), for example {namespace}- or team-a-"
	// +kubebuilder:validation:XValidation:rule="!self.startsWith('-')",message="must not start with a dash: a VIP service name is svc: followed by a DNS label"
	// +optional
	VIPServiceNamePrefix string `json:"vipServiceNamePrefix,omitempty"`
}

// TailscaleTailnetStatus is what the operator last found out about the tailnet.
type TailscaleTailnetStatus struct {
	// magicDNSDomain is the tailnet's MagicDNS domain, such as tail1234.ts.net.
	// +optional
	MagicDNSDomain string `json:"magicDNSDomain,omitempty"`

	// lastChecked is when the credentials and the API were last checked.
	// +optional
	LastChecked *metav1.Time `json:"lastChecked,omitempty"`

	// observedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Ready says whether the API accepts the credentials.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// TailscaleTailnet says how to reach one tailnet: its API, the OAuth client
// the operator uses, and the control server its proxy machines join.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=tstn,categories=tailscale
// +kubebuilder:printcolumn:name="Tailnet",type=string,JSONPath=`.spec.tailnet`
// +kubebuilder:printcolumn:name="Domain",type=string,JSONPath=`.status.magicDNSDomain`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="API",type=string,JSONPath=`.spec.apiBaseURL`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type TailscaleTailnet struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   TailscaleTailnetSpec   `json:"spec"`
	Status TailscaleTailnetStatus `json:"status,omitempty"`
}

// TailscaleTailnetList is a list of TailscaleTailnet.
//
// +kubebuilder:object:root=true
type TailscaleTailnetList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []TailscaleTailnet `json:"items"`
}

package v1alpha1

import corev1 "k8s.io/api/core/v1"

// ProxyPodSpec is what a pool's pods may be given for production: where
// they run, how much they get, and extra metadata. What keeps them safe
// (non-root, no capabilities, read-only root filesystem, probes, grace
// period) is the operator's and cannot be set here.
type ProxyPodSpec struct {
	// labels added to every pod of the pool.
	// +kubebuilder:validation:MaxProperties=64
	// +kubebuilder:validation:XValidation:rule="self.all(k, k != 'gateway.tailscale.com/pool' && k != 'app.kubernetes.io/component' && k != 'app.kubernetes.io/managed-by')",message="may not set gateway.tailscale.com/pool, app.kubernetes.io/component or app.kubernetes.io/managed-by: the operator selects and marks the pool's pods by them; choose other keys"
	// +optional
	Labels map[string]string `json:"labels,omitempty"`

	// annotations added to every pod of the pool.
	// +kubebuilder:validation:MaxProperties=64
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`

	// resources of the proxy container; omitted: the operator's default
	// (50m CPU and 64Mi memory requested, no limits).
	// +optional
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`

	// nodeSelector the pods must match to be scheduled on a node.
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`

	// tolerations of the pods.
	// +kubebuilder:validation:MaxItems=32
	// +listType=atomic
	// +optional
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`

	// affinity of the pods.
	// +optional
	Affinity *corev1.Affinity `json:"affinity,omitempty"`

	// topologySpreadConstraints of the pods. Omitted: the pool's pods are
	// spread across nodes where possible (maxSkew 1 over
	// kubernetes.io/hostname, ScheduleAnyway), so one node going away
	// takes as few machines as it can. A constraint without a
	// labelSelector counts the pool's own pods. Constraints given here
	// replace the default.
	// +kubebuilder:validation:MaxItems=8
	// +listType=atomic
	// +optional
	TopologySpreadConstraints []corev1.TopologySpreadConstraint `json:"topologySpreadConstraints,omitempty"`

	// priorityClassName of the pods.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	PriorityClassName string `json:"priorityClassName,omitempty"`
}

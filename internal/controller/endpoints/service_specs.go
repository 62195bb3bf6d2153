package endpoints

import (
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
)

// HeadlessService governs the StatefulSet: it gives each machine a stable
// DNS name and exposes the admin port and the metrics port (HTTPS, for
// scrapers the API server authorises: GET /metrics).
func HeadlessService(ep *gatewayv1alpha1.TailscaleEndpoints) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: objectMeta(ep, pool.HeadlessServiceName(ep.Name)),
		Spec: corev1.ServiceSpec{
			ClusterIP: corev1.ClusterIPNone,
			Selector:  selectorLabels(ep),
			// Machines are addressable (and scrapable) before they are ready.
			PublishNotReadyAddresses: true,
			Ports: []corev1.ServicePort{
				{Name: adminPortName, Port: AdminPort, TargetPort: intstr.FromString(adminPortName), Protocol: corev1.ProtocolTCP},
				{Name: metricsPortName, Port: MetricsPort, TargetPort: intstr.FromString(metricsPortName), Protocol: corev1.ProtocolTCP},
			},
		},
	}
}

// PodDisruptionBudget keeps all but one machine of the pool up during
// voluntary disruptions. A pool of one gets none (it would block node
// drains forever), hence ok is false.
func PodDisruptionBudget(ep *gatewayv1alpha1.TailscaleEndpoints) (pdb *policyv1.PodDisruptionBudget, ok bool) {
	if desiredReplicas(ep) <= 1 {
		return nil, false
	}
	return &policyv1.PodDisruptionBudget{
		ObjectMeta: objectMeta(ep, pool.PodDisruptionBudgetName(ep.Name)),
		Spec: policyv1.PodDisruptionBudgetSpec{
			MaxUnavailable: ptr.To(intstr.FromInt32(1)),
			Selector:       &metav1.LabelSelector{MatchLabels: selectorLabels(ep)},
		},
	}, true
}

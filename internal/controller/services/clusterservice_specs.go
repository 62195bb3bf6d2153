package services

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/planner"
	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
)

// ClusterService is the in-cluster Service of a TailscaleServices: the VIP
// service's ports, without a selector, because its endpoints are the pods
// of several pools, each serving the ports on ports of its own (the
// proxy-config controller writes one EndpointSlice per pool).
func ClusterService(ts *gatewayv1alpha1.TailscaleServices, ports []int32) *corev1.Service {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{
			Name:      planner.InClusterServiceName(ts.Name),
			Namespace: ts.Namespace,
			Labels:    map[string]string{planner.LabelTailscaleServices: ts.Name, pool.LabelManagedBy: pool.ManagedBy},
		},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP},
	}
	for _, p := range ports {
		svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{
			Name: planner.ClusterPortName(p), Port: p, Protocol: corev1.ProtocolTCP,
			// Ignored without a selector (the EndpointSlices say), but
			// spelt out so that the API server's default does not differ.
			TargetPort: intstr.FromInt32(p),
		})
	}
	return svc
}

package endpoints

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
)

// replicas is the number of machines the pool asks for; one when unset.
func desiredReplicas(ep *gatewayv1alpha1.TailscaleEndpoints) int32 {
	if ep.Spec.Proxy.Replicas == nil {
		return 1
	}
	return *ep.Spec.Proxy.Replicas
}

// selectorLabels select the pool's pods. They never change, because a
// StatefulSet's selector is immutable.
func selectorLabels(ep *gatewayv1alpha1.TailscaleEndpoints) map[string]string {
	return map[string]string{pool.LabelPool: ep.Name, pool.LabelComponent: componentProxy}
}

// poolLabels are on every object of the pool.
func poolLabels(ep *gatewayv1alpha1.TailscaleEndpoints) map[string]string {
	l := selectorLabels(ep)
	l[pool.LabelManagedBy] = pool.ManagedBy
	return l
}

// objectMeta names an object of the pool and makes the pool its
// controller, so garbage collection removes it with the pool.
func objectMeta(ep *gatewayv1alpha1.TailscaleEndpoints, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:            name,
		Namespace:       ep.Namespace,
		Labels:          poolLabels(ep),
		OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(ep, gatewayv1alpha1.GroupVersion.WithKind("TailscaleEndpoints"))},
	}
}

// podNames are the names of the machines the pool asks for.
func podNames(ep *gatewayv1alpha1.TailscaleEndpoints) []string {
	names := make([]string, 0, desiredReplicas(ep))
	for i := range int(desiredReplicas(ep)) {
		names = append(names, pool.PodName(ep.Name, i))
	}
	return names
}

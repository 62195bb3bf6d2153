package planner

import (
	"fmt"
	"maps"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/selection"
)

// AutoPoolName is the name of the pool a TailscaleServices auto-provisions.
func AutoPoolName(ts *gatewayv1alpha1.TailscaleServices) string { return ts.Name + "-auto" }

// AutoPool is the TailscaleEndpoints that spec.endpointTemplate asks for
// (without its owner reference, which needs the scheme), or the problem
// that forbids it: labels that do not satisfy the selector would create a
// pool the service does not select. Its machines forward to the Service
// named like the TailscaleServices, port for port, unless the template
// names a backend.
func AutoPool(ts *gatewayv1alpha1.TailscaleServices) (*gatewayv1alpha1.TailscaleEndpoints, *Problem) {
	tpl := ts.Spec.EndpointTemplate
	if !selection.Matches(&ts.Spec.Selector, tpl.Labels) {
		return nil, &Problem{Reason: gatewayv1alpha1.ReasonTemplateLabelsMismatch, Message: fmt.Sprintf(
			"spec.endpointTemplate.labels %v do not satisfy spec.selector, so the pool would not be selected; make the template's labels match the selector", tpl.Labels)}
	}
	backend := tpl.Backend
	if backend == nil {
		backend = &gatewayv1alpha1.EndpointsBackend{Service: &gatewayv1alpha1.ServiceBackend{Name: ts.Name}}
	}
	return &gatewayv1alpha1.TailscaleEndpoints{
		ObjectMeta: metav1.ObjectMeta{
			Name:        AutoPoolName(ts),
			Namespace:   ts.Namespace,
			Labels:      maps.Clone(tpl.Labels),
			Annotations: map[string]string{gatewayv1alpha1.AnnotationAutoProvisioned: "true"},
		},
		Spec: gatewayv1alpha1.TailscaleEndpointsSpec{
			Tailnet: tpl.Tailnet,
			Tags:    tpl.Tags,
			Proxy:   *tpl.Proxy.DeepCopy(),
			Backend: backend.DeepCopy(),
		},
	}, nil
}

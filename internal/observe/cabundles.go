package observe

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/planner"
)

// CABundles reads the Secrets the external services' caBundles name and
// keeps what planner.ReadCABundle decides: their certificates, or why
// there are none (a missing Secret or key, no certificate in it), for
// every external service that names one.
func CABundles(ctx context.Context, r client.Reader, ts *gatewayv1alpha1.TailscaleServices) (map[string]planner.CABundle, error) {
	sd := ts.Spec.ServiceDiscovery
	if sd == nil {
		return nil, nil
	}
	out := map[string]planner.CABundle{}
	for _, e := range sd.ExternalServices {
		if e.CABundle == nil {
			continue
		}
		sec := &corev1.Secret{}
		err := r.Get(ctx, client.ObjectKey{Namespace: ts.Namespace, Name: e.CABundle.Name}, sec)
		if apierrors.IsNotFound(err) {
			sec = nil
		} else if err != nil {
			return nil, fmt.Errorf("reading Secret %s of external service %s's caBundle: %w", e.CABundle.Name, e.Name, err)
		}
		out[e.Name] = planner.ReadCABundle(*e.CABundle, sec)
	}
	return out, nil
}

// ServicesTrusting are the TailscaleServices of the namespace with an
// external service whose caBundle names the Secret: both controllers
// re-plan them when it changes.
func ServicesTrusting(ctx context.Context, r client.Reader, namespace, secret string) ([]gatewayv1alpha1.TailscaleServices, error) {
	var list gatewayv1alpha1.TailscaleServicesList
	if err := r.List(ctx, &list, client.InNamespace(namespace)); err != nil {
		return nil, err
	}
	var out []gatewayv1alpha1.TailscaleServices
	for _, ts := range list.Items {
		if namesCABundle(&ts, secret) {
			out = append(out, ts)
		}
	}
	return out, nil
}

func namesCABundle(ts *gatewayv1alpha1.TailscaleServices, secret string) bool {
	if ts.Spec.ServiceDiscovery == nil {
		return false
	}
	for _, e := range ts.Spec.ServiceDiscovery.ExternalServices {
		if e.CABundle != nil && e.CABundle.Name == secret {
			return true
		}
	}
	return false
}

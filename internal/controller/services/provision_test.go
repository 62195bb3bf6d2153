package services_test

import (
	"context"
	"fmt"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
)

func templated(name string, labels map[string]string) *gatewayv1alpha1.TailscaleServices {
	replicas := int32(2)
	return &gatewayv1alpha1.TailscaleServices{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: gatewayv1alpha1.TailscaleServicesSpec{
			Selector:   metav1.LabelSelector{MatchLabels: map[string]string{"service-type": "api"}},
			VIPService: &gatewayv1alpha1.VIPServiceSpec{Ports: []gatewayv1alpha1.VIPServicePort{"tcp:80"}},
			EndpointTemplate: &gatewayv1alpha1.EndpointTemplate{
				Tailnet: "lab", Tags: []gatewayv1alpha1.Tag{"tag:auto"}, Labels: labels,
				Proxy: gatewayv1alpha1.ProxySpec{Replicas: &replicas, ConnectionType: "bidirectional",
					Ports: []gatewayv1alpha1.ProxyPort{{Port: 80, Protocol: "TCP"}}},
			},
		},
	}
}

func (f *fixture) autoPool(ctx context.Context, name string) (*gatewayv1alpha1.TailscaleEndpoints, error) {
	ep := &gatewayv1alpha1.TailscaleEndpoints{}
	err := f.env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, ep)
	return ep, err
}

func TestAutoProvisioning(t *testing.T) {
	f := start(t)
	ts := templated("api", map[string]string{"service-type": "api", "region": "auto"})
	f.create(t, ts)

	eventually(t, "api-auto is created from the template, owned, annotated and selected", func(ctx context.Context) (bool, string) {
		ep, err := f.autoPool(ctx, "api-auto")
		if err != nil {
			return false, err.Error()
		}
		owner := metav1.GetControllerOf(ep)
		got := f.get(ctx, "api")
		return ep.Annotations[gatewayv1alpha1.AnnotationAutoProvisioned] == "true" && owner != nil && owner.Name == "api" &&
				ep.Spec.Backend != nil && ep.Spec.Backend.Service.Name == "api" && *ep.Spec.Proxy.Replicas == 2 &&
				condition(got, "AutoProvisioned") == "True/Provisioned" && len(got.Status.SelectedEndpoints) == 1,
			condition(got, "AutoProvisioned")
	})

	t.Run("kept while it is the only pool, deleted when another pool matches", func(t *testing.T) {
		ep := &gatewayv1alpha1.TailscaleEndpoints{
			ObjectMeta: metav1.ObjectMeta{Name: "api-manual", Namespace: ns, Labels: map[string]string{"service-type": "api"}},
			Spec: gatewayv1alpha1.TailscaleEndpointsSpec{Tags: []gatewayv1alpha1.Tag{"tag:api"},
				Proxy: gatewayv1alpha1.ProxySpec{Ports: []gatewayv1alpha1.ProxyPort{{Port: 80, Protocol: "TCP"}}}},
		}
		f.create(t, ep)
		eventually(t, "api-auto deleted", func(ctx context.Context) (bool, string) {
			_, err := f.autoPool(ctx, "api-auto")
			got := f.get(ctx, "api")
			return client.IgnoreNotFound(err) == nil && err != nil && condition(got, "AutoProvisioned") == "False/NotNeeded",
				fmt.Sprint(err, condition(got, "AutoProvisioned"))
		})
		if err := f.env.Client.Delete(t.Context(), ep); err != nil {
			t.Fatal(err)
		}
		eventually(t, "api-auto back once nothing else matches", func(ctx context.Context) (bool, string) {
			_, err := f.autoPool(ctx, "api-auto")
			return err == nil, fmt.Sprint(err)
		})
	})

	t.Run("deleted with its owner", func(t *testing.T) {
		if err := f.env.Client.Delete(t.Context(), f.get(t.Context(), "api")); err != nil {
			t.Fatal(err)
		}
		eventually(t, "api-auto deleted", func(ctx context.Context) (bool, string) {
			ep, err := f.autoPool(ctx, "api-auto")
			return client.IgnoreNotFound(err) == nil && (err != nil || ep.DeletionTimestamp != nil), fmt.Sprint(err)
		})
	})
}

func TestAutoProvisioningRefusesATemplateThatTheSelectorWouldNotSelect(t *testing.T) {
	f := start(t)
	f.create(t, templated("mismatch", map[string]string{"service-type": "web"}))
	eventually(t, "TemplateLabelsMismatch and nothing created", func(ctx context.Context) (bool, string) {
		c := condition(f.get(ctx, "mismatch"), "AutoProvisioned")
		return c == "False/TemplateLabelsMismatch", c
	})
	if _, err := f.autoPool(t.Context(), "mismatch-auto"); client.IgnoreNotFound(err) != nil || err == nil {
		t.Errorf("a pool was created from a mismatched template: %v", err)
	}
}

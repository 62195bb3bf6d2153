package envoygateway

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// The specification's examples, as the operator's API tests keep them.
const specExamples = "../../../api/v1alpha1/testdata/spec"

var tailscaleServicesKind = schema.GroupVersionKind{Group: "gateway.tailscale.com", Version: "v1alpha1", Kind: "TailscaleServices"}

// specObject is the first object of the given kind in a specification
// example file.
func specObject(t *testing.T, file string, gvk schema.GroupVersionKind) *unstructured.Unstructured {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(specExamples, file))
	if err != nil {
		t.Fatal(err)
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if u.GroupVersionKind() == gvk {
			return u
		}
	}
	t.Fatalf("%s has no %s", file, gvk.Kind)
	return nil
}

// createNamespaces makes the namespaces, Envoy Gateway's own among them,
// and the GatewayClass envoy-gateway of Envoy Gateway's controller.
func createNamespaces(ctx context.Context, t *testing.T, c client.Client, namespaces ...string) {
	t.Helper()
	for _, ns := range append(namespaces, controllerNamespace) {
		mustCreate(ctx, t, c, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	}
	mustCreate(ctx, t, c, &gwapiv1.GatewayClass{
		ObjectMeta: metav1.ObjectMeta{Name: "envoy-gateway"},
		Spec:       gwapiv1.GatewayClassSpec{ControllerName: "gateway.envoyproxy.io/gatewayclass-controller"},
	})
}

// createGateway makes a Gateway of the class envoy-gateway with the
// listeners given, by default one for HTTP on port 80. Each Gateway is
// translated on its own (its own xDS snapshot), so a refusal under
// failOpen false holds back only its own.
func createGateway(ctx context.Context, t *testing.T, c client.Client, namespace, name string, listeners ...gwapiv1.Listener) {
	t.Helper()
	if len(listeners) == 0 {
		listeners = []gwapiv1.Listener{{Name: "http", Protocol: gwapiv1.HTTPProtocolType, Port: 80}}
	}
	mustCreate(ctx, t, c, &gwapiv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec:       gwapiv1.GatewaySpec{GatewayClassName: "envoy-gateway", Listeners: listeners},
	})
}

func mustCreate(ctx context.Context, t *testing.T, c client.Client, obj client.Object) {
	t.Helper()
	if err := c.Create(ctx, obj); err != nil {
		t.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
	}
}

// routeCondition is the condition of the given type that Envoy Gateway
// reports on the route for its Gateway, and whether it has seen the
// route's current generation.
func routeCondition(route *gwapiv1.HTTPRoute, conditionType string) (metav1.Condition, bool) {
	for _, parent := range route.Status.Parents {
		if parent.ControllerName != "gateway.envoyproxy.io/gatewayclass-controller" {
			continue
		}
		for _, c := range parent.Conditions {
			if c.Type == conditionType {
				return c, c.ObservedGeneration == route.Generation
			}
		}
	}
	return metav1.Condition{}, false
}

package envoygateway

import (
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Lines of Envoy Gateway v1.9.1's log the test waits for: its xDS runner
// got a new IR (internal/xds/runner/runner.go:288), and it did not publish
// a translation (runner.go:345).
const (
	xdsUpdate         = "received an update\t{\"runner\": \"xds\"}"
	skippedPublishing = "skipped publishing xds resources: failed to translate xds ir"
)

// steps are the changes the test makes to the specification's objects,
// and the waits on what Envoy Gateway reports.
type steps struct {
	t *testing.T
	c client.Client
}

var (
	routeKey             = types.NamespacedName{Namespace: namespace, Name: "web-route"}
	tailscaleServicesKey = types.NamespacedName{Namespace: namespace, Name: "production-web-service"}
)

// updateRoute changes the HTTPRoute and returns its new generation.
func (s *steps) updateRoute(change func(*gwapiv1.HTTPRoute)) int64 {
	s.t.Helper()
	var r gwapiv1.HTTPRoute
	if err := s.c.Get(s.t.Context(), routeKey, &r); err != nil {
		s.t.Fatal(err)
	}
	change(&r)
	if err := s.c.Update(s.t.Context(), &r); err != nil {
		s.t.Fatalf("updating HTTPRoute %s: %v", routeKey, err)
	}
	return r.Generation
}

// routeObserved waits until Envoy Gateway has reported on the given
// generation of the HTTPRoute: it has translated it.
func (s *steps) routeObserved(generation int64) {
	s.t.Helper()
	eventually(s.t, 30*time.Second, fmt.Sprintf("Envoy Gateway reports on HTTPRoute generation %d", generation), func() (bool, string) {
		var r gwapiv1.HTTPRoute
		if err := s.c.Get(s.t.Context(), routeKey, &r); err != nil {
			return false, err.Error()
		}
		_, current := routeCondition(&r, string(gwapiv1.RouteConditionAccepted))
		return current && r.Generation == generation, fmt.Sprintf("generation %d, status %+v", r.Generation, r.Status.Parents)
	})
}

// routeCondition waits for the HTTPRoute's condition of that type, for its
// current generation, to have that status and reason, and returns it.
func (s *steps) routeCondition(conditionType, status, reason string) metav1.Condition {
	s.t.Helper()
	var cond metav1.Condition
	eventually(s.t, 30*time.Second, fmt.Sprintf("HTTPRoute %s %s (%s)", conditionType, status, reason), func() (bool, string) {
		var r gwapiv1.HTTPRoute
		if err := s.c.Get(s.t.Context(), routeKey, &r); err != nil {
			return false, err.Error()
		}
		var current bool
		cond, current = routeCondition(&r, conditionType)
		return current && string(cond.Status) == status && cond.Reason == reason, fmt.Sprintf("%+v", r.Status.Parents)
	})
	return cond
}

func (s *steps) tailscaleServices() *unstructured.Unstructured {
	s.t.Helper()
	ts := &unstructured.Unstructured{}
	ts.SetGroupVersionKind(tailscaleServicesKind)
	if err := s.c.Get(s.t.Context(), tailscaleServicesKey, ts); err != nil {
		s.t.Fatal(err)
	}
	return ts
}

// updateTailscaleServices changes the TailscaleServices' spec.
func (s *steps) updateTailscaleServices(change func(*unstructured.Unstructured)) {
	s.t.Helper()
	ts := s.tailscaleServices()
	change(ts)
	if err := s.c.Update(s.t.Context(), ts); err != nil {
		s.t.Fatalf("updating TailscaleServices %s: %v", tailscaleServicesKey, err)
	}
}

func (s *steps) setPorts(ts *unstructured.Unstructured, ports ...string) {
	s.t.Helper()
	if err := unstructured.SetNestedStringSlice(ts.Object, ports, "spec", "vipService", "ports"); err != nil {
		s.t.Fatal(err)
	}
}

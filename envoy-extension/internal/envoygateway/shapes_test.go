package envoygateway

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/tailscale-gateway/tailscale-gateway/envoy-extension/internal/routewarn"
)

const shapesNamespace = "shapes"

// shapesObjects: two TailscaleServices, a Service with one ready endpoint
// (what the endpoint controller would write; envtest runs none), and one
// Gateway per case, so that a refusal under failOpen false holds back
// only its own case's xDS.
const shapesObjects = `
apiVersion: gateway.tailscale.com/v1alpha1
kind: TailscaleServices
metadata: {name: web, namespace: shapes}
spec:
  selector: {}
  vipService: {ports: ["tcp:80"]}
---
apiVersion: gateway.tailscale.com/v1alpha1
kind: TailscaleServices
metadata: {name: other, namespace: shapes}
spec:
  selector: {}
  vipService: {ports: ["tcp:443"]}
---
apiVersion: v1
kind: Service
metadata: {name: plain, namespace: shapes}
spec:
  ports: [{name: http, port: 8080, protocol: TCP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: plain-1
  namespace: shapes
  labels: {kubernetes.io/service-name: plain}
addressType: IPv4
ports: [{name: http, port: 8080, protocol: TCP}]
endpoints:
- addresses: ["10.0.0.1"]
  conditions: {ready: true}
`

// One case per Gateway (listener and route).
const shapesRoutes = `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: mixed, namespace: shapes}
spec:
  parentRefs: [{name: mixed}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /mixed}}]
    backendRefs:
    - {name: plain, port: 8080, weight: 1}
    - {group: gateway.tailscale.com, kind: TailscaleServices, name: web, port: 80, weight: 3}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: split, namespace: shapes}
spec:
  parentRefs: [{name: split}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /split}}]
    backendRefs:
    - name: plain
      port: 8080
      weight: 1
      filters:
      - type: RequestHeaderModifier
        requestHeaderModifier: {set: [{name: x-backend, value: plain}]}
    - {group: gateway.tailscale.com, kind: TailscaleServices, name: web, port: 80, weight: 3}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: two, namespace: shapes}
spec:
  parentRefs: [{name: two}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /two}}]
    backendRefs:
    - {group: gateway.tailscale.com, kind: TailscaleServices, name: web, port: 80}
    - {group: gateway.tailscale.com, kind: TailscaleServices, name: other, port: 443}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: grpc, namespace: shapes}
spec:
  parentRefs: [{name: grpc}]
  rules:
  - backendRefs:
    - {group: gateway.tailscale.com, kind: TailscaleServices, name: web, port: 80}
---
apiVersion: gateway.networking.k8s.io/v1
kind: TCPRoute
metadata: {name: tcp, namespace: shapes}
spec:
  parentRefs: [{name: tcp}]
  rules:
  - backendRefs:
    - {group: gateway.tailscale.com, kind: TailscaleServices, name: web, port: 80}
`

func decodeAll(t *testing.T, manifest string) []*unstructured.Unstructured {
	t.Helper()
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader([]byte(manifest)), 4096)
	var out []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); errors.Is(err, io.EOF) {
			return out
		} else if err != nil {
			t.Fatal(err)
		}
		if len(u.Object) > 0 {
			out = append(out, u)
		}
	}
}

// TestEnvoyGatewayRuleShapes: the rules where a TailscaleServices shares
// a rule with other backends, or is named by a route kind other than
// HTTPRoute, through the real Envoy Gateway.
func TestEnvoyGatewayRuleShapes(t *testing.T) {
	st := startStack(t, shapesNamespace)
	ctx := t.Context()
	warnRoutes(t, st.cfg)
	for _, o := range decodeAll(t, shapesObjects) {
		if o.GetKind() == "TailscaleServices" {
			st.createTailscaleServices(t, o)
		} else {
			mustCreate(ctx, t, st.c, o)
		}
	}
	for _, name := range []string{"mixed", "split", "two", "grpc"} {
		createGateway(ctx, t, st.c, shapesNamespace, name)
	}
	createGateway(ctx, t, st.c, shapesNamespace, "tcp", gwapiv1Listener("tcp", "TCP", 9000))
	watches := map[string]*adsClient{}
	for _, name := range []string{"mixed", "split", "two", "grpc", "tcp"} {
		watches[name] = st.watch(t, shapesNamespace, name)
	}
	routes := decodeAll(t, shapesRoutes)
	for _, o := range routes {
		mustCreate(ctx, t, st.c, o)
	}

	// Refused, each in Envoy Gateway's log; under failOpen false the
	// Gateway's xDS keeps no cluster of the route. The route's status
	// says nothing of it: ResolvedRefs stays True.
	refused := map[string]string{
		// A Service and a TailscaleServices, one cluster: the extension
		// would send the Service's share to the TailscaleServices.
		"mixed": "spec.rules[0].backendRefs[0] of HTTPRoute shapes/mixed (Service shapes/plain) shares the rule with TailscaleServices shapes/web",
		// The same with a backendRef filter: Envoy Gateway builds a cluster
		// per backendRef but routes nothing to a custom backend's.
		"split": "spec.rules[0] of HTTPRoute shapes/split gets a cluster per backendRef",
		// Two TailscaleServices, one cluster.
		"two": "2 backend resources came with the one cluster of a route rule",
	}
	for name, message := range refused {
		eventually(t, time.Minute, "Envoy Gateway logs the refusal of HTTPRoute "+name, func() (bool, string) {
			return st.eg.logContains(message), "not in its log yet"
		})
	}
	// (When the Gateway's first translation already had the route, the
	// Gateway has no snapshot at all: its listener is not served either.)
	for name := range refused {
		holds(t, 2*time.Second, "no cluster of HTTPRoute "+name+" in its Gateway's xDS", func() (bool, string) {
			s := st.snapshot(t, watches[name])
			for c := range s.clusters {
				if strings.HasPrefix(c, "httproute/"+shapesNamespace+"/"+name+"/") {
					return false, "cluster " + c
				}
			}
			return true, ""
		})
	}

	// GRPCRoute and TCPRoute: Envoy Gateway v1.9.1 drops custom backends of
	// other route kinds before xDS (internal/gatewayapi/route.go), so the
	// hook is never called: the rule's cluster is EDS with no endpoint
	// (Envoy answers 503, or resets the connection), and nothing in
	// Envoy Gateway says so. The extension's route watcher does: a Warning
	// Event on each of the two routes.
	for name, cluster := range map[string]string{"grpc": "grpcroute/shapes/grpc/rule/0", "tcp": "tcproute/shapes/tcp/rule/-1"} {
		eventually(t, time.Minute, name+": an EDS cluster with no endpoint", func() (bool, string) {
			s := st.snapshot(t, watches[name])
			c, ok := s.clusters[cluster]
			if !ok {
				return false, fmt.Sprintf("clusters %v", keys(s.clusters))
			}
			eds, ok := s.endpoints[edsName(c)]
			return c.GetType() == clusterv3.Cluster_EDS && ok && lbEndpoints(eds) == 0, fmt.Sprintf("type %v, endpoints %v", c.GetType(), eds)
		})
	}
	for kind, name := range map[string]string{"GRPCRoute": "grpc", "TCPRoute": "tcp"} {
		eventually(t, 30*time.Second, kind+" "+name+": a Warning Event "+routewarn.Reason+" from the extension", func() (bool, string) {
			var list eventsv1.EventList
			if err := st.c.List(ctx, &list, client.InNamespace(shapesNamespace)); err != nil {
				return false, err.Error()
			}
			var seen []string
			for _, e := range list.Items {
				if e.Regarding.Kind == kind && e.Regarding.Name == name {
					if e.Type == corev1.EventTypeWarning && e.Reason == routewarn.Reason && strings.Contains(e.Note, "does not call the extension for "+kind) {
						return true, ""
					}
					seen = append(seen, e.Type+" "+e.Reason+": "+e.Note)
				}
			}
			return false, fmt.Sprintf("Events of the route: %q", seen)
		})
	}
	for _, o := range routes {
		eventually(t, 30*time.Second, o.GetKind()+" "+o.GetName()+" ResolvedRefs True", func() (bool, string) {
			status, err := unstructuredCondition(t, st.c, o, "ResolvedRefs")
			return status == "True", fmt.Sprintf("%q, %v", status, err)
		})
	}
}

// lbEndpoints counts the endpoints of a load assignment.
func lbEndpoints(a *endpointv3.ClusterLoadAssignment) int {
	n := 0
	for _, l := range a.GetEndpoints() {
		n += len(l.GetLbEndpoints())
	}
	return n
}

// unstructuredCondition is the status of the condition of that type that
// Envoy Gateway reports on a route of any kind, for its current generation.
func unstructuredCondition(t *testing.T, c client.Client, obj *unstructured.Unstructured, conditionType string) (string, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(obj.GroupVersionKind())
	if err := c.Get(t.Context(), client.ObjectKeyFromObject(obj), u); err != nil {
		return "", err
	}
	parents, _, _ := unstructured.NestedSlice(u.Object, "status", "parents")
	for _, p := range parents {
		parent, _ := p.(map[string]any)
		if parent["controllerName"] != "gateway.envoyproxy.io/gatewayclass-controller" {
			continue
		}
		conditions, _, _ := unstructured.NestedSlice(parent, "conditions")
		for _, c := range conditions {
			cond, _ := c.(map[string]any)
			gen, _, _ := unstructured.NestedInt64(cond, "observedGeneration")
			if cond["type"] == conditionType && gen == u.GetGeneration() {
				status, _ := cond["status"].(string)
				return status, nil
			}
		}
	}
	return "", nil
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func gwapiv1Listener(name, protocol string, port int32) gwapiv1.Listener {
	return gwapiv1.Listener{Name: gwapiv1.SectionName(name), Protocol: gwapiv1.ProtocolType(protocol), Port: gwapiv1.PortNumber(port)}
}

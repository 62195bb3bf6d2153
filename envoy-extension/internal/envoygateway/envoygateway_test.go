package envoygateway

import (
	"fmt"
	"strings"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
)

const (
	namespace = "production" // the specification's TailscaleServices' namespace
	gateway   = "envoy-gateway"
	// The cluster Envoy Gateway builds for rule 0 of the specification's
	// HTTPRoute (internal/gatewayapi/helpers.go).
	ruleCluster = "httproute/" + namespace + "/web-route/rule/0"
	serviceHost = "production-web-service-vip." + namespace + ".svc.cluster.local"
)

// TestEnvoyGateway runs the specification's HTTPRoute through the real
// Envoy Gateway v1.9.1 with this extension and reads the result over xDS.
func TestEnvoyGateway(t *testing.T) {
	st := startStack(t, namespace)
	c, eg, ext := st.c, st.eg, st.ext
	ctx := t.Context()
	createGateway(ctx, t, c, namespace, gateway)
	st.createTailscaleServices(t, specObject(t, "02-complete-example.yaml", tailscaleServicesKind))
	xds := st.watch(t, namespace, gateway)

	route := specObject(t, "03-httproute.yaml", schema.GroupVersionKind{Group: gwapiv1.GroupName, Version: "v1", Kind: "HTTPRoute"})
	route.SetNamespace(namespace)
	mustCreate(ctx, t, c, route)

	state := func() (xdsSnapshot, string) {
		s := st.snapshot(t, xds)
		cl := s.clusters[ruleCluster]
		host, port := target(cl)
		routed, rc, _ := routeTo(s, "/api/")
		return s, fmt.Sprintf("cluster %s: type %v, target %s:%d; /api/ routed to %q by %q; %d clusters, %d listeners, %d route configs",
			ruleCluster, cl.GetType(), host, port, routed, rc, len(s.clusters), len(s.listeners), len(s.routes))
	}
	steps := &steps{t: t, c: c}

	// The specification's route, through Envoy Gateway and the extension:
	// the rule's cluster is a STRICT_DNS cluster of the TailscaleServices'
	// in-cluster Service on the backendRef's port, and the HTTP listener's
	// route configuration sends /api/ to it.
	eventually(t, 2*time.Minute, "xDS: the rule's cluster targets the TailscaleServices' Service on port 80", func() (bool, string) {
		s, desc := state()
		cl := s.clusters[ruleCluster]
		host, port := target(cl)
		routed, rc, _ := routeTo(s, "/api/")
		return cl.GetType() == clusterv3.Cluster_STRICT_DNS && host == serviceHost && port == 80 &&
			routed == ruleCluster && rc == namespace+"/"+gateway+"/http", desc
	})
	steps.routeCondition(string(gwapiv1.RouteConditionResolvedRefs), "True", string(gwapiv1.RouteReasonResolvedRefs))
	_, desc := state()
	t.Log(desc)
	// Envoy Gateway's infra provider makes the Envoy proxy's Deployment;
	// with no kubelet here it never runs, and nothing else needs it.
	eventually(t, 30*time.Second, "the Envoy proxy's Deployment in "+controllerNamespace, func() (bool, string) {
		var deployments appsv1.DeploymentList
		err := c.List(ctx, &deployments, client.InNamespace(controllerNamespace), client.MatchingLabels{
			"gateway.envoyproxy.io/owning-gateway-namespace": namespace,
			"gateway.envoyproxy.io/owning-gateway-name":      gateway,
		})
		return err == nil && len(deployments.Items) == 1, fmt.Sprintf("%d Deployments, error %v", len(deployments.Items), err)
	})
	if exit := eg.exited(); exit != nil {
		t.Fatal(exit)
	}

	// The backendRef's port alone changed: Envoy Gateway v1.9.1 does not
	// translate again. Its xDS IR of a custom backend has no port
	// (internal/gatewayapi/route.go), so the IR is unchanged, the xDS
	// runner gets no update, and the hook is not called: xDS keeps port 80
	// until something else changes the Gateway's IR.
	translations := eg.count(xdsUpdate)
	gen := steps.updateRoute(func(r *gwapiv1.HTTPRoute) { r.Spec.Rules[0].BackendRefs[0].Port = ptr.To(gwapiv1.PortNumber(443)) })
	steps.routeObserved(gen)
	holds(t, 5*time.Second, "xDS keeps port 80 after only the backendRef's port changed", func() (bool, string) {
		s, desc := state()
		_, port := target(s.clusters[ruleCluster])
		return port == 80 && eg.count(xdsUpdate) == translations, fmt.Sprintf("%s; xDS runner updates %d, before %d", desc, eg.count(xdsUpdate), translations)
	})

	// The extension down, with failOpen false: a change to the
	// TailscaleServices (a new generation) reaches the xDS runner, whose
	// hook call waits for the extension (waitForReady, no deadline), so
	// the previous snapshot stays. Once the extension is back the
	// translation completes, with the route's port 443 too.
	ext.stop()
	steps.updateTailscaleServices(func(ts *unstructured.Unstructured) {
		steps.setPorts(ts, "tcp:80", "tcp:443", "tcp:8443")
	})
	eventually(t, 30*time.Second, "Envoy Gateway's xDS runner gets the new TailscaleServices", func() (bool, string) {
		return eg.count(xdsUpdate) > translations, fmt.Sprintf("xDS runner updates %d", eg.count(xdsUpdate))
	})
	holds(t, 5*time.Second, "xDS keeps the previous snapshot (port 80) while the extension is down, the hook call waiting rather than failing", func() (bool, string) {
		s, desc := state()
		host, port := target(s.clusters[ruleCluster])
		routed, _, _ := routeTo(s, "/api/")
		failed := eg.logContains(skippedPublishing)
		return host == serviceHost && port == 80 && routed == ruleCluster && !failed, fmt.Sprintf("%s; a translation failed: %v", desc, failed)
	})
	ext.start()
	eventually(t, time.Minute, "xDS: port 443 once the extension is back", func() (bool, string) {
		s, desc := state()
		host, port := target(s.clusters[ruleCluster])
		return host == serviceHost && port == 443, desc
	})

	// The TailscaleServices no longer lists the route's port: the extension
	// refuses the cluster, and with failOpen false Envoy Gateway skips
	// publishing the whole translation (internal/xds/runner/runner.go): the
	// previous snapshot stays, the refusal is in Envoy Gateway's log, and
	// the HTTPRoute's status says nothing of it.
	steps.updateTailscaleServices(func(ts *unstructured.Unstructured) { steps.setPorts(ts, "tcp:80") })
	const refusal = "the backendRef's port in HTTPRoute production/web-route spec.rules[0] is 443 but spec.vipService.ports lists only the tcp ports tcp:80"
	eventually(t, 30*time.Second, "Envoy Gateway logs the extension's refusal", func() (bool, string) {
		return eg.logContains(refusal) && eg.logContains(skippedPublishing), "not in its log yet"
	})
	holds(t, 3*time.Second, "xDS keeps the previous snapshot (port 443) after the refusal", func() (bool, string) {
		s, desc := state()
		host, port := target(s.clusters[ruleCluster])
		return host == serviceHost && port == 443, desc
	})
	steps.routeCondition(string(gwapiv1.RouteConditionResolvedRefs), "True", string(gwapiv1.RouteReasonResolvedRefs))

	// The TailscaleServices deleted: Envoy Gateway answers the rule with a
	// 500 of its own, drops the rule's cluster (no hook call: no backend
	// resource), and says why in ResolvedRefs.
	if err := c.Delete(ctx, steps.tailscaleServices()); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "xDS: /api/ answered 500 by Envoy Gateway, the rule's cluster gone", func() (bool, string) {
		s, desc := state()
		_, _, r := routeTo(s, "/api/")
		_, hasCluster := s.clusters[ruleCluster]
		return r.GetDirectResponse().GetStatus() == 500 && !hasCluster, fmt.Sprintf("%s; /api/ route %v", desc, r)
	})
	cond := steps.routeCondition(string(gwapiv1.RouteConditionResolvedRefs), "False", string(gwapiv1.RouteReasonBackendNotFound))
	if want := "custom backend TailscaleServices production/production-web-service not found"; !strings.Contains(cond.Message, want) {
		t.Errorf("ResolvedRefs message %q does not contain %q", cond.Message, want)
	}
}

// target is the one endpoint of a cluster whose endpoints are inline
// (the extension's STRICT_DNS), or nothing.
func target(c *clusterv3.Cluster) (string, uint32) {
	eps := c.GetLoadAssignment().GetEndpoints()
	if len(eps) != 1 || len(eps[0].GetLbEndpoints()) != 1 {
		return "", 0
	}
	sa := eps[0].GetLbEndpoints()[0].GetEndpoint().GetAddress().GetSocketAddress()
	return sa.GetAddress(), sa.GetPortValue()
}

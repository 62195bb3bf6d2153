// Package egsample builds what Envoy Gateway v1.9.1 sends this extension's
// PostClusterModify hook for an HTTPRoute rule whose one backendRef is a
// TailscaleServices, for the tests of the packages that handle it. Each
// field says where Envoy Gateway sets it.
package egsample

import (
	"encoding/json"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	commonv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/load_balancing_policies/common/v3"
	leastrequestv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/load_balancing_policies/least_request/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// ClusterName is the name Envoy Gateway gives the cluster of rule 0 of
// HTTPRoute default/web-route: the route destination's name,
// httproute/<namespace>/<name>/rule/<index>
// (internal/gatewayapi/helpers.go:564-566, translator.go:797-805).
const ClusterName = "httproute/default/web-route/rule/0"

// Cluster is the cluster Envoy Gateway builds for a custom backend with no
// BackendTrafficPolicy (internal/xds/translator/cluster.go:235-583): a
// custom backend's destination setting has no address type, so the cluster
// is EDS (cluster.go:126-143, 538-548) and its endpoints, none, go out as a
// separate EDS resource (translator.go:1335-1349).
func Cluster() *clusterv3.Cluster { return RouteCluster("default", "web-route") }

// RouteCluster is Cluster for rule 0 of the HTTPRoute namespace/name, named
// httproute/<namespace>/<name>/rule/0 like ClusterName.
func RouteCluster(namespace, name string) *clusterv3.Cluster {
	clusterName := "httproute/" + namespace + "/" + name + "/rule/0"
	return &clusterv3.Cluster{
		Name:                 clusterName,
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_EDS},
		EdsClusterConfig: &clusterv3.Cluster_EdsClusterConfig{
			ServiceName: clusterName,
			EdsConfig: &corev3.ConfigSource{
				ResourceApiVersion:    corev3.ApiVersion_V3,
				ConfigSourceSpecifier: &corev3.ConfigSource_Ads{Ads: &corev3.AggregatedConfigSource{}},
			},
		},
		ConnectTimeout:                durationpb.New(10 * time.Second),
		DnsLookupFamily:               clusterv3.Cluster_V4_PREFERRED,
		CommonLbConfig:                &clusterv3.Cluster_CommonLbConfig{},
		PerConnectionBufferLimitBytes: wrapperspb.UInt32(32768),
		IgnoreHealthOnHostRemoval:     true,
		Metadata:                      routeMetadata(namespace, name),
		LoadBalancingPolicy:           leastRequest(),
		CircuitBreakers: &clusterv3.CircuitBreakers{
			Thresholds: []*clusterv3.CircuitBreakers_Thresholds{{
				Priority:   corev3.RoutingPriority_DEFAULT,
				MaxRetries: wrapperspb.UInt32(1024),
			}},
		},
	}
}

// routeMetadata names the HTTPRoute the cluster serves
// (internal/xds/translator/metadata.go:26-63, 93-136).
func routeMetadata(namespace, name string) *corev3.Metadata {
	route, err := structpb.NewValue(map[string]any{"kind": "HTTPRoute", "name": name, "namespace": namespace})
	if err != nil {
		panic(err)
	}
	return &corev3.Metadata{FilterMetadata: map[string]*structpb.Struct{
		"envoy-gateway": {Fields: map[string]*structpb.Value{
			"resources": structpb.NewListValue(&structpb.ListValue{Values: []*structpb.Value{route}}),
		}},
	}}
}

// leastRequest is Envoy Gateway's default load-balancing policy, with
// locality weighted load balancing (cluster.go:386-400, 586-592).
func leastRequest() *clusterv3.LoadBalancingPolicy {
	config, err := anypb.New(&leastrequestv3.LeastRequest{
		LocalityLbConfig: &commonv3.LocalityLbConfig{
			LocalityConfigSpecifier: &commonv3.LocalityLbConfig_LocalityWeightedLbConfig_{
				LocalityWeightedLbConfig: &commonv3.LocalityLbConfig_LocalityWeightedLbConfig{},
			},
		},
	})
	if err != nil {
		panic(err)
	}
	return &clusterv3.LoadBalancingPolicy{Policies: []*clusterv3.LoadBalancingPolicy_Policy{{
		TypedExtensionConfig: &corev3.TypedExtensionConfig{
			Name:        "envoy.load_balancing_policies.least_request",
			TypedConfig: config,
		},
	}}}
}

// TailscaleServices is a TailscaleServices as Envoy Gateway sends it: the
// whole object listed from the API server, as unstructured JSON
// (internal/provider/kubernetes/filters.go:45-63,
// internal/extension/registry/xds_hook.go:29-47). edit changes it before it
// is encoded.
func TailscaleServices(edit func(object map[string]any)) []byte {
	object := map[string]any{
		"apiVersion": "gateway.tailscale.com/v1alpha1",
		"kind":       "TailscaleServices",
		"metadata": map[string]any{
			"name":              "production-web-service",
			"namespace":         "default",
			"uid":               "0b8b4a1e-5c43-4c1e-9d0f-3f1f5b1b2a77",
			"resourceVersion":   "4711",
			"generation":        2,
			"creationTimestamp": "2025-01-01T00:00:00Z",
		},
		"spec": map[string]any{
			"selector":      map[string]any{"matchLabels": map[string]any{"tier": "web"}},
			"vipService":    map[string]any{"name": "svc:web-service", "ports": []any{"tcp:80"}},
			"loadBalancing": map[string]any{"strategy": "round-robin"},
		},
		"status": map[string]any{
			"vipServiceStatus": map[string]any{"created": true, "serviceName": "svc:web-service", "backendCount": 3, "healthyBackendCount": 3},
		},
	}
	if edit != nil {
		edit(object)
	}
	raw, err := json.Marshal(object)
	if err != nil {
		panic(err)
	}
	return raw
}

// Metadata is the metadata of an object TailscaleServices built, for edit
// functions.
func Metadata(object map[string]any) map[string]any { return object["metadata"].(map[string]any) }

// VIPService is the spec.vipService of an object TailscaleServices built,
// for edit functions.
func VIPService(object map[string]any) map[string]any {
	return object["spec"].(map[string]any)["vipService"].(map[string]any)
}

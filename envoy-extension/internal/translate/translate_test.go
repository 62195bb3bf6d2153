package translate

import (
	"strings"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/tailscale-gateway/tailscale-gateway/envoy-extension/internal/egsample"
)

const webHost = "production-web-service-vip.default.svc.cluster.local"

func TestClusterRewrites(t *testing.T) {
	tests := []struct {
		name          string
		cluster       *clusterv3.Cluster
		resources     [][]byte
		clusterDomain string
		want          *clusterv3.Cluster
		wantBackend   *Backend
	}{{
		name:        "Envoy Gateway's cluster for a custom backend",
		cluster:     egsample.Cluster(),
		resources:   [][]byte{egsample.TailscaleServices(nil)},
		want:        egClusterAsDNS(),
		wantBackend: &Backend{Namespace: "default", Name: "production-web-service", Port: 80},
	}, {
		name:        "keeps TLS, health checks, outlier detection and the lookup family",
		cluster:     withPolicies(egsample.Cluster()),
		resources:   [][]byte{egsample.TailscaleServices(nil)},
		want:        withPolicies(egClusterAsDNS()),
		wantBackend: &Backend{Namespace: "default", Name: "production-web-service", Port: 80},
	}, {
		name:        "replaces another discovery type and its endpoints",
		cluster:     withDNSExtension(egsample.Cluster()),
		resources:   [][]byte{egsample.TailscaleServices(nil)},
		want:        egClusterAsDNS(),
		wantBackend: &Backend{Namespace: "default", Name: "production-web-service", Port: 80},
	}, {
		name:    "the annotation chooses among several tcp ports",
		cluster: egsample.Cluster(),
		resources: [][]byte{egsample.TailscaleServices(func(o map[string]any) {
			egsample.VIPService(o)["ports"] = []any{"tcp:80", "tcp:443"}
			egsample.Metadata(o)["annotations"] = map[string]any{PortAnnotation: "443"}
		})},
		want:        toDNS(egsample.Cluster(), webHost, 443),
		wantBackend: &Backend{Namespace: "default", Name: "production-web-service", Port: 443},
	}, {
		name:    "the annotation alone when the ports come from the endpoints",
		cluster: egsample.Cluster(),
		resources: [][]byte{egsample.TailscaleServices(func(o map[string]any) {
			delete(o["spec"].(map[string]any), "vipService")
			egsample.Metadata(o)["annotations"] = map[string]any{PortAnnotation: "8443"}
		})},
		want:        toDNS(egsample.Cluster(), webHost, 8443),
		wantBackend: &Backend{Namespace: "default", Name: "production-web-service", Port: 8443},
	}, {
		name:    "udp ports and repeated tcp ports do not count",
		cluster: egsample.Cluster(),
		resources: [][]byte{egsample.TailscaleServices(func(o map[string]any) {
			egsample.VIPService(o)["ports"] = []any{"udp:53", "tcp:8080", "tcp:8080"}
		})},
		want:        toDNS(egsample.Cluster(), webHost, 8080),
		wantBackend: &Backend{Namespace: "default", Name: "production-web-service", Port: 8080},
	}, {
		name:    "another namespace and cluster domain",
		cluster: egsample.Cluster(),
		resources: [][]byte{egsample.TailscaleServices(func(o map[string]any) {
			egsample.Metadata(o)["namespace"] = "shop"
		})},
		clusterDomain: "corp.example",
		want:          toDNS(egsample.Cluster(), "production-web-service-vip.shop.svc.corp.example", 80),
		wantBackend:   &Backend{Namespace: "shop", Name: "production-web-service", Port: 80},
	}, {
		name:    "no resources: another extension's backend, unchanged",
		cluster: egsample.Cluster(),
		want:    egsample.Cluster(),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			domain := tt.clusterDomain
			if domain == "" {
				domain = "cluster.local"
			}
			original := proto.Clone(tt.cluster)
			got, backend, err := Cluster(tt.cluster, tt.resources, domain, nil)
			if err != nil {
				t.Fatalf("Cluster: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("cluster (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantBackend, backend); diff != "" {
				t.Errorf("backend (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(original, tt.cluster, protocmp.Transform()); diff != "" {
				t.Errorf("the cluster passed in was modified (-before +after):\n%s", diff)
			}
		})
	}
}

func TestClusterErrors(t *testing.T) {
	withTS := func(edit func(map[string]any)) [][]byte { return [][]byte{egsample.TailscaleServices(edit)} }
	annotate := func(value string) func(map[string]any) {
		return func(o map[string]any) { egsample.Metadata(o)["annotations"] = map[string]any{PortAnnotation: value} }
	}
	ports := func(p ...any) func(map[string]any) {
		return func(o map[string]any) { egsample.VIPService(o)["ports"] = p }
	}
	tests := []struct {
		name      string
		cluster   *clusterv3.Cluster
		resources [][]byte
		wantErr   []string
	}{{
		name:      "no cluster",
		resources: withTS(nil),
		wantErr:   []string{"no cluster"},
	}, {
		name:      "cluster without a name",
		cluster:   &clusterv3.Cluster{ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_EDS}},
		resources: withTS(nil),
		wantErr:   []string{"default/production-web-service", "no name"},
	}, {
		name:      "two backendRefs in one rule",
		resources: [][]byte{egsample.TailscaleServices(nil), egsample.TailscaleServices(nil)},
		wantErr:   []string{"2 backend resources came with the one cluster", "rule of its own"},
	}, {
		name:      "not JSON",
		resources: [][]byte{[]byte("apiVersion: v1")},
		wantErr:   []string{"not a Kubernetes object in JSON"},
	}, {
		name:      "another kind",
		resources: withTS(func(o map[string]any) { o["apiVersion"], o["kind"] = "v1", "Service" }),
		wantErr:   []string{`kind "Service"`, "extensionManager.backendResources"},
	}, {
		name:      "another group",
		resources: withTS(func(o map[string]any) { o["apiVersion"] = "tailscale.com/v1alpha1" }),
		wantErr:   []string{`apiVersion "tailscale.com/v1alpha1"`, "group gateway.tailscale.com"},
	}, {
		name:      "another version",
		resources: withTS(func(o map[string]any) { o["apiVersion"] = "gateway.tailscale.com/v1beta1" }),
		wantErr:   []string{`apiVersion "gateway.tailscale.com/v1beta1"`, "version v1alpha1"},
	}, {
		name:      "no name",
		resources: withTS(func(o map[string]any) { delete(egsample.Metadata(o), "name") }),
		wantErr:   []string{"metadata.name"},
	}, {
		name:      "no namespace",
		resources: withTS(func(o map[string]any) { delete(egsample.Metadata(o), "namespace") }),
		wantErr:   []string{"metadata.namespace"},
	}, {
		name:      "no vipService: no port known",
		resources: withTS(func(o map[string]any) { delete(o["spec"].(map[string]any), "vipService") }),
		wantErr:   []string{"default/production-web-service", "no port known", "spec.vipService.ports", PortAnnotation},
	}, {
		name:      "only udp ports: no port known",
		resources: withTS(ports("udp:53")),
		wantErr:   []string{"no port known", "spec.vipService.ports", PortAnnotation},
	}, {
		name:      "several tcp ports",
		resources: withTS(ports("tcp:80", "tcp:443")),
		wantErr:   []string{"tcp:80, tcp:443", "set the annotation " + PortAnnotation},
	}, {
		name:      "malformed port in spec",
		resources: withTS(ports("tcp:80", "http:8080")),
		wantErr:   []string{`spec.vipService.ports[1] is "http:8080"`},
	}, {
		name:      "annotation not a number",
		resources: withTS(annotate("http")),
		wantErr:   []string{"annotation " + PortAnnotation, `"http" is not a port number`},
	}, {
		name:      "annotation zero",
		resources: withTS(annotate("0")),
		wantErr:   []string{"annotation " + PortAnnotation, `"0" is not a port number from 1 to 65535`},
	}, {
		name:      "annotation too high",
		resources: withTS(annotate("70000")),
		wantErr:   []string{`"70000" is not a port number`},
	}, {
		name: "in-cluster Service turned off",
		resources: withTS(func(o map[string]any) {
			o["spec"].(map[string]any)["clusterService"] = map[string]any{"enabled": false}
		}),
		wantErr: []string{"default/production-web-service", "spec.clusterService.enabled: false", "production-web-service-vip"},
	}, {
		name:      "annotation not among the spec's ports",
		resources: withTS(annotate("8080")),
		wantErr:   []string{"is 8080", "lists only the tcp ports tcp:80", "add tcp:8080 to spec.vipService.ports"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cluster := tt.cluster
			if cluster == nil && tt.name != "no cluster" {
				cluster = egsample.Cluster()
			}
			got, backend, err := Cluster(cluster, tt.resources, "cluster.local", nil)
			if err == nil {
				t.Fatalf("Cluster returned no error, cluster %v, backend %v", got, backend)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			if got != nil || backend != nil {
				t.Errorf("Cluster returned cluster %v and backend %v with its error", got, backend)
			}
		})
	}
}

// egClusterAsDNS is egsample.Cluster pointed at the sample TailscaleServices,
// written out in full rather than derived, so that the test does not repeat
// the code it tests.
func egClusterAsDNS() *clusterv3.Cluster {
	c := egsample.Cluster()
	return &clusterv3.Cluster{
		Name:                          egsample.ClusterName,
		ClusterDiscoveryType:          &clusterv3.Cluster_Type{Type: clusterv3.Cluster_STRICT_DNS},
		ConnectTimeout:                durationpb.New(10 * time.Second),
		DnsLookupFamily:               clusterv3.Cluster_V4_PREFERRED,
		CommonLbConfig:                &clusterv3.Cluster_CommonLbConfig{},
		PerConnectionBufferLimitBytes: wrapperspb.UInt32(32768),
		IgnoreHealthOnHostRemoval:     true,
		Metadata:                      c.Metadata,
		LoadBalancingPolicy:           c.LoadBalancingPolicy,
		CircuitBreakers:               c.CircuitBreakers,
		LoadAssignment: &endpointv3.ClusterLoadAssignment{
			ClusterName: egsample.ClusterName,
			Endpoints: []*endpointv3.LocalityLbEndpoints{{
				LoadBalancingWeight: wrapperspb.UInt32(1),
				LbEndpoints: []*endpointv3.LbEndpoint{{
					HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{
						Address: &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
							Address:       webHost,
							PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: 80},
						}}},
					}},
				}},
			}},
		},
	}
}

// toDNS is egClusterAsDNS with another host and port, on c.
func toDNS(c *clusterv3.Cluster, host string, port uint32) *clusterv3.Cluster {
	want := egClusterAsDNS()
	socket := want.LoadAssignment.Endpoints[0].LbEndpoints[0].GetEndpoint().Address.GetSocketAddress()
	socket.Address = host
	socket.PortSpecifier = &corev3.SocketAddress_PortValue{PortValue: port}
	c.ClusterDiscoveryType, c.EdsClusterConfig, c.LoadAssignment = want.ClusterDiscoveryType, nil, want.LoadAssignment
	return c
}

// withPolicies adds what a BackendTrafficPolicy or an EnvoyProxy could have
// Envoy Gateway set on a cluster, none of which the rewrite may drop.
func withPolicies(c *clusterv3.Cluster) *clusterv3.Cluster {
	tls, err := anypb.New(&tlsv3.UpstreamTlsContext{Sni: "web.example"})
	if err != nil {
		panic(err)
	}
	c.TransportSocket = &corev3.TransportSocket{Name: "envoy.transport_sockets.tls", ConfigType: &corev3.TransportSocket_TypedConfig{TypedConfig: tls}}
	c.HealthChecks = []*corev3.HealthCheck{{
		Timeout:            durationpb.New(time.Second),
		Interval:           durationpb.New(5 * time.Second),
		UnhealthyThreshold: wrapperspb.UInt32(3),
		HealthyThreshold:   wrapperspb.UInt32(1),
		HealthChecker:      &corev3.HealthCheck_TcpHealthCheck_{TcpHealthCheck: &corev3.HealthCheck_TcpHealthCheck{}},
	}}
	c.OutlierDetection = &clusterv3.OutlierDetection{Consecutive_5Xx: wrapperspb.UInt32(5)}
	c.ConnectTimeout = durationpb.New(3 * time.Second)
	c.DnsLookupFamily = clusterv3.Cluster_V4_ONLY
	c.AltStatName = "default/web-route/rule/0"
	return c
}

// withDNSExtension makes c a cluster of Envoy's DNS cluster extension with an
// endpoint of its own, as Envoy Gateway builds for FQDN backends.
func withDNSExtension(c *clusterv3.Cluster) *clusterv3.Cluster {
	c.ClusterDiscoveryType = &clusterv3.Cluster_ClusterType{ClusterType: &clusterv3.Cluster_CustomClusterType{Name: "envoy.cluster.dns"}}
	c.EdsClusterConfig = nil
	c.LoadAssignment = &endpointv3.ClusterLoadAssignment{ClusterName: c.Name}
	return c
}

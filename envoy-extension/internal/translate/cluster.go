package translate

import (
	"errors"
	"fmt"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// pointAt returns a copy of c that finds its one endpoint by resolving host,
// port. Only how endpoints are found changes; everything else Envoy Gateway
// set (timeouts, circuit breakers, load-balancing policy, health checks,
// transport sockets, metadata, DNS lookup family) is kept.
//
// For a custom backend Envoy Gateway sends an EDS cluster whose endpoints
// (none) it publishes separately (internal/xds/translator/cluster.go:126-143,
// 538-548; translator.go:1335-1349). The cluster becomes STRICT_DNS rather
// than LOGICAL_DNS: STRICT_DNS makes a host of every address the name
// resolves to, so it balances over the pods of a headless Service as well as
// it uses the one address of a ClusterIP Service, and it is what Envoy
// Gateway itself uses for FQDN backends (cluster.go:549-577). LOGICAL_DNS
// would only ever use the first address, which suits a large web service
// behind round-robin DNS, not a Service. The EDS resource Envoy Gateway still
// publishes under the cluster's name is then asked for by no one.
func pointAt(c *clusterv3.Cluster, host string, port uint32) (*clusterv3.Cluster, error) {
	if c.GetName() == "" {
		return nil, errors.New("the cluster has no name; Envoy Gateway always names the clusters it builds, so the caller is not Envoy Gateway or is broken")
	}
	out := proto.Clone(c).(*clusterv3.Cluster)
	out.ClusterDiscoveryType = &clusterv3.Cluster_Type{Type: clusterv3.Cluster_STRICT_DNS}
	out.EdsClusterConfig = nil
	out.LoadAssignment = loadAssignment(out.GetName(), host, port)
	// Envoy Gateway validates every resource after translation and publishes
	// nothing for the Gateway if one fails (translator.go:303-305); failing
	// here names the cause.
	if err := out.ValidateAll(); err != nil {
		return nil, fmt.Errorf("the rewritten cluster %q is not valid Envoy config: %w", out.GetName(), err)
	}
	return out, nil
}

// loadAssignment is one locality with one endpoint, the Service's name.
func loadAssignment(clusterName, host string, port uint32) *endpointv3.ClusterLoadAssignment {
	return &endpointv3.ClusterLoadAssignment{
		ClusterName: clusterName,
		Endpoints: []*endpointv3.LocalityLbEndpoints{{
			// Envoy Gateway's load-balancing policies turn on locality
			// weighted load balancing (cluster.go:386-456, 586-592), under which a
			// locality without a weight gets no traffic at all.
			LoadBalancingWeight: wrapperspb.UInt32(1),
			LbEndpoints: []*endpointv3.LbEndpoint{{
				HostIdentifier: &endpointv3.LbEndpoint_Endpoint{
					Endpoint: &endpointv3.Endpoint{Address: socketAddress(host, port)},
				},
			}},
		}},
	}
}

func socketAddress(host string, port uint32) *corev3.Address {
	return &corev3.Address{
		Address: &corev3.Address_SocketAddress{
			SocketAddress: &corev3.SocketAddress{
				Protocol:      corev3.SocketAddress_TCP,
				Address:       host,
				PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: port},
			},
		},
	}
}

package envoygateway

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// The xDS types an Envoy proxy asks Envoy Gateway for.
const (
	clusterType  = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
	endpointType = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
	listenerType = "type.googleapis.com/envoy.config.listener.v3.Listener"
	routeType    = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
)

// xdsSnapshot is what the ADS client last received, by type and name.
type xdsSnapshot struct {
	clusters  map[string]*clusterv3.Cluster
	endpoints map[string]*endpointv3.ClusterLoadAssignment
	listeners map[string]*listenerv3.Listener
	routes    map[string]*routev3.RouteConfiguration
}

// adsClient reads Envoy Gateway's xDS over one aggregated stream, the way
// an Envoy proxy of Envoy Gateway does: incremental (delta) xDS, which is
// what Envoy Gateway's bootstrap asks for (internal/xds/bootstrap/
// bootstrap.yaml.tpl, ads_config api_type DELTA_GRPC); clusters and
// listeners by wildcard, then the endpoints and route configurations they
// name; each response ACKed. It keeps the current state of every resource,
// for the test to poll.
//
// (State-of-the-world ADS would not do: Envoy Gateway's go-control-plane
// cache in ADS mode leaves unanswered an endpoints request that does not
// name every ClusterLoadAssignment of the snapshot, and the snapshot keeps
// one for each cluster the extension turned from EDS into STRICT_DNS.)
type adsClient struct {
	mu   sync.Mutex
	last xdsSnapshot
	err  error // why the stream ended, if it did
}

// xdsTLS is the client side of Envoy Gateway's mutual TLS, with the
// certificate certgen made for the Envoy proxies (the Secret envoy, in
// dir): the server presents a certificate for the Service name
// envoy-gateway and demands a client certificate of the same CA
// (internal/crypto/certgen.go, cert_load.go).
func xdsTLS(t *testing.T, dir string) *tls.Config {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"))
	if err != nil {
		t.Fatalf("the Envoy client certificate of certgen: %v", err)
	}
	ca, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(ca) {
		t.Fatalf("%s/ca.crt holds no PEM certificate", dir)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: roots, ServerName: "envoy-gateway", MinVersion: tls.VersionTLS13}
}

// watchXDS connects to the xDS server at address as the Envoy proxy of
// the Gateway namespace/name (Envoy Gateway keys its snapshots by the node's
// cluster, internal/xds/cache/snapshotcache.go) and streams until the test
// ends.
func watchXDS(t *testing.T, address string, tlsConfig *tls.Config, gatewayNamespace, gatewayName string) *adsClient {
	t.Helper()
	conn, err := grpc.NewClient(address, grpc.WithTransportCredentials(credentials.NewTLS(tlsConfig)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	c := &adsClient{}
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	// One node ID per Gateway: Envoy Gateway's cache keeps one snapshot
	// per node ID, so two watches with one ID would see each other's.
	node := &corev3.Node{Id: "tsgw-test-" + gatewayNamespace + "-" + gatewayName, Cluster: gatewayNamespace + "/" + gatewayName}
	go func() {
		defer close(done)
		err := c.stream(ctx, discoveryv3.NewAggregatedDiscoveryServiceClient(conn), node)
		c.mu.Lock()
		c.err = err
		c.mu.Unlock()
	}()
	return c
}

// stream runs one delta ADS stream. Envoy Gateway's server goes away when
// Envoy Gateway is stopped; the stream then ends with that error.
func (c *adsClient) stream(ctx context.Context, ads discoveryv3.AggregatedDiscoveryServiceClient, node *corev3.Node) error {
	// WaitForReady: Envoy Gateway opens its xDS port only once its runners
	// have started.
	s, err := ads.DeltaAggregatedResources(ctx, grpc.WaitForReady(true))
	if err != nil {
		return err
	}
	send := func(r *discoveryv3.DeltaDiscoveryRequest) error {
		r.Node = node
		return s.Send(r)
	}
	// Wildcard: the first request of a type subscribes to no name.
	for _, typeURL := range []string{clusterType, listenerType} {
		if err := send(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: typeURL}); err != nil {
			return err
		}
	}
	subscribed := map[string][]string{}
	for {
		resp, err := s.Recv()
		if err != nil {
			return err
		}
		names, err := c.apply(resp)
		if err != nil {
			return err
		}
		if err := send(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: resp.TypeUrl, ResponseNonce: resp.Nonce}); err != nil {
			return err // the ACK
		}
		for typeURL, want := range names {
			add, drop := diffSets(subscribed[typeURL], want)
			if len(add)+len(drop) == 0 {
				continue
			}
			subscribed[typeURL] = want
			if err := send(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: typeURL, ResourceNamesSubscribe: add, ResourceNamesUnsubscribe: drop}); err != nil {
				return err
			}
		}
	}
}

// apply applies a delta response (resources added or changed, names
// removed) and returns, after a cluster or listener response, the names of
// the endpoints and route configurations the clusters and listeners now
// refer to.
func (c *adsClient) apply(resp *discoveryv3.DeltaDiscoveryResponse) (map[string][]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var raw []*anypb.Any
	for _, r := range resp.Resources {
		raw = append(raw, r.GetResource())
	}
	names := map[string][]string{}
	switch resp.TypeUrl {
	case clusterType:
		if err := applyTo(&c.last.clusters, raw, resp.RemovedResources, (*clusterv3.Cluster).GetName); err != nil {
			return nil, err
		}
		names[endpointType] = []string{}
		for _, cl := range c.last.clusters {
			if cl.GetType() == clusterv3.Cluster_EDS {
				names[endpointType] = append(names[endpointType], edsName(cl))
			}
		}
	case endpointType:
		if err := applyTo(&c.last.endpoints, raw, resp.RemovedResources, (*endpointv3.ClusterLoadAssignment).GetClusterName); err != nil {
			return nil, err
		}
	case listenerType:
		if err := applyTo(&c.last.listeners, raw, resp.RemovedResources, (*listenerv3.Listener).GetName); err != nil {
			return nil, err
		}
		names[routeType] = []string{}
		for _, l := range c.last.listeners {
			names[routeType] = append(names[routeType], routeConfigNames(l)...)
		}
	case routeType:
		if err := applyTo(&c.last.routes, raw, resp.RemovedResources, (*routev3.RouteConfiguration).GetName); err != nil {
			return nil, err
		}
	}
	return names, nil
}

// applyTo sets the resources in m by name and deletes the removed ones.
func applyTo[M proto.Message](m *map[string]M, resources []*anypb.Any, removed []string, name func(M) string) error {
	all, err := unpackAll[M](resources)
	if err != nil {
		return err
	}
	if *m == nil {
		*m = map[string]M{}
	}
	for _, r := range all {
		(*m)[name(r)] = r
	}
	for _, n := range removed {
		delete(*m, n)
	}
	return nil
}

// snapshot is a copy of what was last received, and why the stream ended
// if it did.
func (c *adsClient) snapshot() (xdsSnapshot, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := xdsSnapshot{
		clusters:  map[string]*clusterv3.Cluster{},
		endpoints: map[string]*endpointv3.ClusterLoadAssignment{},
		listeners: map[string]*listenerv3.Listener{},
		routes:    map[string]*routev3.RouteConfiguration{},
	}
	for k, v := range c.last.clusters {
		s.clusters[k] = proto.Clone(v).(*clusterv3.Cluster)
	}
	for k, v := range c.last.endpoints {
		s.endpoints[k] = proto.Clone(v).(*endpointv3.ClusterLoadAssignment)
	}
	for k, v := range c.last.listeners {
		s.listeners[k] = proto.Clone(v).(*listenerv3.Listener)
	}
	for k, v := range c.last.routes {
		s.routes[k] = proto.Clone(v).(*routev3.RouteConfiguration)
	}
	return s, c.err
}

func unpackAll[M proto.Message](resources []*anypb.Any) ([]M, error) {
	var out []M
	for _, a := range resources {
		m, err := a.UnmarshalNew()
		if err != nil {
			return nil, fmt.Errorf("decoding a %s: %w", a.TypeUrl, err)
		}
		typed, ok := m.(M)
		if !ok {
			return nil, fmt.Errorf("a %s in a response of another type", a.TypeUrl)
		}
		out = append(out, typed)
	}
	return out, nil
}

// edsName is the name Envoy asks endpoints by for an EDS cluster.
func edsName(c *clusterv3.Cluster) string {
	if n := c.GetEdsClusterConfig().GetServiceName(); n != "" {
		return n
	}
	return c.GetName()
}

// diffSets is what is in want and not in have, and the reverse.
func diffSets(have, want []string) (add, drop []string) {
	in := func(list []string, s string) bool {
		for _, x := range list {
			if x == s {
				return true
			}
		}
		return false
	}
	for _, s := range want {
		if !in(have, s) {
			add = append(add, s)
		}
	}
	for _, s := range have {
		if !in(want, s) {
			drop = append(drop, s)
		}
	}
	return add, drop
}

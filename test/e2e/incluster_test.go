package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/planner"
)

// clusterService is the TailscaleServices' in-cluster Service name.
func (s *scenario) clusterService() string { return planner.InClusterServiceName(s.ns) }

// inClusterEndpoints waits until the in-cluster Service has port 80 and
// its EndpointSlices list `pods` ready endpoints, and returns where each
// serves port 80 (pod IP and that pool's pod port), as kube-proxy or Envoy
// would read them.
func (s *scenario) inClusterEndpoints(ctx context.Context, pods int) []string {
	s.t.Helper()
	var addrs []string
	waitUntil(s.t, ctx, fmt.Sprintf("Service %s with %d ready endpoints", s.clusterService(), pods), func() error {
		svc := &corev1.Service{}
		if err := s.cluster.Client.Get(ctx, ctrlclient.ObjectKey{Namespace: s.ns, Name: s.clusterService()}, svc); err != nil {
			return err
		}
		if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 80 || svc.Spec.Ports[0].Name != "tcp-80" {
			return fmt.Errorf("Service ports %+v, want tcp-80 on 80", svc.Spec.Ports)
		}
		slices := &discoveryv1.EndpointSliceList{}
		if err := s.cluster.Client.List(ctx, slices, ctrlclient.InNamespace(s.ns),
			ctrlclient.MatchingLabels{discoveryv1.LabelServiceName: s.clusterService()}); err != nil {
			return err
		}
		addrs = readyAddrs(slices.Items, "tcp-80")
		if len(addrs) != pods {
			return fmt.Errorf("ready endpoints %v", addrs)
		}
		return nil
	}, true)
	return addrs
}

func readyAddrs(list []discoveryv1.EndpointSlice, portName string) []string {
	var out []string
	for _, sl := range list {
		i := slices.IndexFunc(sl.Ports, func(p discoveryv1.EndpointPort) bool { return p.Name != nil && *p.Name == portName })
		if i < 0 {
			continue
		}
		for _, e := range sl.Endpoints {
			if e.Conditions.Ready != nil && *e.Conditions.Ready {
				out = append(out, net.JoinHostPort(e.Addresses[0], strconv.Itoa(int(*sl.Ports[i].Port))))
			}
		}
	}
	slices.Sort(out)
	return out
}

// endpointsClient is an in-cluster client: each connection goes to the
// next endpoint in turn, as kube-proxy spreads a Service's connections.
func endpointsClient(addrs []string) *http.Client {
	var next atomic.Uint64
	d := &net.Dialer{Timeout: 3 * time.Second}
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			DisableKeepAlives: true,
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return d.DialContext(ctx, network, addrs[(next.Add(1)-1)%uint64(len(addrs))])
			},
		},
	}
}

// conditionTrue accepts a TailscaleServices whose condition is True.
func conditionTrue(condition string) func(*gatewayv1alpha1.TailscaleServices) error {
	return func(ts *gatewayv1alpha1.TailscaleServices) error {
		if c := meta.FindStatusCondition(ts.Status.Conditions, condition); c == nil || c.Status != metav1.ConditionTrue {
			return fmt.Errorf("%s condition %+v", condition, c)
		}
		return nil
	}
}

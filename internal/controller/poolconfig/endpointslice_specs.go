package poolconfig

import (
	"net"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/planner"
	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
)

// SliceManager is the endpointslice.kubernetes.io/managed-by value of the
// slices this controller writes (Kubernetes' own EndpointSlice controller
// leaves slices managed by others alone).
const SliceManager = "poolconfig.gateway.tailscale.com"

// Serving says, per pod, which services of the proxy configuration
// (ClusterPort.Service) its proxy reports it serves: a pod listens on a
// service's pod port only from then on.
type Serving map[string][]string

// servesAll reports whether the pod's proxy serves every port's service.
func (s Serving) servesAll(pod string, ports []planner.ClusterPort) bool {
	for _, p := range ports {
		if !slices.Contains(s[pod], p.Service) {
			return false
		}
	}
	return true
}

// ClusterEndpointSlices are one pool's pods as endpoints of the in-cluster
// Service of one TailscaleServices, on the pod ports the planner gave that
// pool: one slice per address family the pods have. A pod is ready only
// when it is and its proxy serves the ports (serving): a pod ready for the
// pool's other services, its new configuration not applied yet, would
// refuse the connections kube-proxy sends it.
func ClusterEndpointSlices(ep *gatewayv1alpha1.TailscaleEndpoints, tailscaleServices string, ports []planner.ClusterPort, pods []corev1.Pod, serving Serving) []*discoveryv1.EndpointSlice {
	byFamily := map[discoveryv1.AddressType][]discoveryv1.Endpoint{discoveryv1.AddressTypeIPv4: nil}
	for i := range pods {
		if e, family, ok := podEndpoint(&pods[i], serving.servesAll(pods[i].Name, ports)); ok {
			byFamily[family] = append(byFamily[family], e)
		}
	}
	var out []*discoveryv1.EndpointSlice
	for _, family := range []discoveryv1.AddressType{discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6} {
		endpoints, ok := byFamily[family]
		if !ok {
			continue
		}
		out = append(out, &discoveryv1.EndpointSlice{
			ObjectMeta: metav1.ObjectMeta{
				Name:      sliceName(ep.Name, tailscaleServices, family),
				Namespace: ep.Namespace,
				Labels: map[string]string{
					discoveryv1.LabelServiceName:   planner.InClusterServiceName(tailscaleServices),
					discoveryv1.LabelManagedBy:     SliceManager,
					planner.LabelTailscaleServices: tailscaleServices,
					pool.LabelPool:                 ep.Name,
				},
			},
			AddressType: family,
			Endpoints:   endpoints,
			Ports:       slicePorts(ports),
		})
	}
	return out
}

// sliceName is <service>-<pool>, and -ipv6 for the IPv6 slice.
func sliceName(poolName, tailscaleServices string, family discoveryv1.AddressType) string {
	name := planner.InClusterServiceName(tailscaleServices) + "-" + poolName
	if family == discoveryv1.AddressTypeIPv6 {
		name += "-ipv6"
	}
	return name
}

func slicePorts(ports []planner.ClusterPort) []discoveryv1.EndpointPort {
	out := make([]discoveryv1.EndpointPort, len(ports))
	for i, p := range ports {
		out[i] = discoveryv1.EndpointPort{Name: ptr.To(p.Name), Port: ptr.To(p.PodPort), Protocol: ptr.To(corev1.ProtocolTCP)}
	}
	return out
}

// podEndpoint is a pod with an address as an endpoint: ready when the pod
// is and listens on the ports, serving until it stops, terminating while
// it drains.
func podEndpoint(pod *corev1.Pod, listens bool) (discoveryv1.Endpoint, discoveryv1.AddressType, bool) {
	ip := net.ParseIP(pod.Status.PodIP)
	if ip == nil || ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsUnspecified() {
		// No address yet, or one the API server refuses in an EndpointSlice
		// (the offline lab's pods without CAP_NET_ADMIN): leave the pod out
		// rather than fail the whole slice.
		return discoveryv1.Endpoint{}, "", false
	}
	family := discoveryv1.AddressTypeIPv4
	if ip.To4() == nil {
		family = discoveryv1.AddressTypeIPv6
	}
	ready := podReady(pod) && listens
	terminating := pod.DeletionTimestamp != nil
	e := discoveryv1.Endpoint{
		Addresses: []string{pod.Status.PodIP},
		Conditions: discoveryv1.EndpointConditions{
			Ready: ptr.To(ready && !terminating), Serving: ptr.To(ready), Terminating: ptr.To(terminating),
		},
		TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
	}
	if pod.Spec.NodeName != "" {
		e.NodeName = ptr.To(pod.Spec.NodeName)
	}
	return e, family, true
}

func podReady(pod *corev1.Pod) bool {
	return slices.ContainsFunc(pod.Status.Conditions, func(c corev1.PodCondition) bool {
		return c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue
	})
}

// sortPods orders pods by name, so that a slice's endpoints do not move
// (and cause a write) when the cache lists them in another order.
func sortPods(pods []corev1.Pod) {
	slices.SortFunc(pods, func(a, b corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
}

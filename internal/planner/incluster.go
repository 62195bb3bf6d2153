package planner

import (
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
)

// In-cluster access: every machine that hosts a VIP service also serves it
// on its pod's own address, through the same balancer, so that clients in
// the cluster (Envoy Gateway among them, see envoy-extension/) reach the
// VIP service through the Kubernetes Service InClusterServiceName names.
//
// A pod has one port space and two VIP services may both use port 80, so
// each VIP service port gets a pod port of its own: a hash of its key into
// [podPortBase, podPortBase+podPortRange), moved on to the next free port
// on a collision, keys taken in sorted order. The result depends only on
// the set of keys, and a key keeps its port unless a new key collides with
// it and sorts before it. Ports above 1024 also spare the proxies, which
// run without capabilities, from binding privileged ports.
const (
	podPortBase  = 20000
	podPortRange = 10000
)

// LabelTailscaleServices names the TailscaleServices an in-cluster Service
// or EndpointSlice belongs to: the services controller writes the Service,
// the proxy-config controller its EndpointSlices, and both find theirs by it.
const LabelTailscaleServices = "gateway.tailscale.com/tailscaleservices"

// InClusterServiceName names the Kubernetes Service of a TailscaleServices:
// its ports are the VIP service's, its endpoints the pods that host it.
func InClusterServiceName(tailscaleServices string) string { return tailscaleServices + "-vip" }

// ClusterPort is one port of the in-cluster Service as one pool serves it.
type ClusterPort struct {
	// Name is the Service's and EndpointSlice's port name, "tcp-<port>".
	Name string `json:"name"`
	// Port is the VIP service's port, and the Service's.
	Port int32 `json:"port"`
	// PodPort is where the pool's pods serve it.
	PodPort int32 `json:"podPort"`
	// Service is the proxy configuration's service behind the port
	// (VIPServiceKey): a pod is a ready endpoint of the port only once its
	// report says it serves that service, that is, once it listens there.
	Service string `json:"service"`
}

// ClusterPortName is the port name of a VIP service port in the in-cluster
// Service and its EndpointSlices.
func ClusterPortName(port int32) string { return "tcp-" + strconv.Itoa(int(port)) }

// allocatePodPorts gives every hosted port a pod port (see podPortBase).
func allocatePodPorts(hosted []hostedPort) map[string]int32 {
	keys := make([]string, len(hosted))
	for i, h := range hosted {
		keys[i] = h.config.Name
	}
	slices.Sort(keys)
	taken := map[int32]bool{}
	out := map[string]int32{}
	for _, k := range keys {
		port := preferredPodPort(k)
		for taken[port] {
			port = podPortBase + (port-podPortBase+1)%podPortRange
		}
		taken[port] = true
		out[k] = port
	}
	return out
}

func preferredPodPort(key string) int32 {
	h := fnv.New32a()
	h.Write([]byte(key))
	return podPortBase + int32(h.Sum32()%podPortRange)
}

// ClusterServicePorts are the in-cluster Service's ports: the VIP service's
// TCP ports.
func ClusterServicePorts(s Service) []int32 { return vipTCPPorts(s) }

// ClusterServiceEnabled is spec.clusterService.enabled, true unless set
// to false.
func ClusterServiceEnabled(ts *gatewayv1alpha1.TailscaleServices) bool {
	cs := ts.Spec.ClusterService
	return cs == nil || cs.Enabled == nil || *cs.Enabled
}

// ClusterServiceCheck says why the in-cluster Service is not made, before
// anything is written: it is turned off, its name must be a DNS label, and
// a Service needs a port. Where it says so, the proxies do not serve the
// service on pod ports either (PoolConfig): no Service would lead there.
func ClusterServiceCheck(s Service) *Problem {
	name := InClusterServiceName(s.Object.Name)
	if !ClusterServiceEnabled(s.Object) {
		return &Problem{Reason: gatewayv1alpha1.ReasonDisabled, Message: "spec.clusterService.enabled is false: no Service " + name +
			" is made (one Tailscale Gateway made is deleted), so clients in the cluster and Envoy Gateway routes cannot reach the VIP service through it; the VIP service in the tailnet is not affected"}
	}
	if errs := validation.IsDNS1035Label(name); len(errs) > 0 {
		return &Problem{Reason: gatewayv1alpha1.ReasonInvalidName, Message: fmt.Sprintf(
			"the in-cluster Service would be named %q, which is not a valid Service name (%s); "+
				"use a TailscaleServices name of at most 59 lower-case letters, digits and dashes, starting with a letter",
			name, strings.Join(errs, "; "))}
	}
	if len(ClusterServicePorts(s)) == 0 {
		return &Problem{Reason: gatewayv1alpha1.ReasonNoPorts, Message: "the VIP service has no TCP port yet, so the in-cluster Service " + name +
			" is not created; set spec.vipService.ports or select a pool with TCP ports"}
	}
	return nil
}

func clusterServiceCondition(o Observed, cond func(string, bool, string, string) metav1.Condition) metav1.Condition {
	p := ClusterServiceCheck(o.Service)
	if p == nil {
		p = o.ClusterServiceProblem
	}
	if p != nil {
		return cond(gatewayv1alpha1.ConditionClusterServiceReady, false, p.Reason, p.Message)
	}
	ports := ClusterServicePorts(o.Service)
	return cond(gatewayv1alpha1.ConditionClusterServiceReady, true, gatewayv1alpha1.ReasonCreated, fmt.Sprintf(
		"Service %s serves ports %v in the cluster, balanced like the VIP service",
		InClusterServiceName(o.Service.Object.Name), ports))
}

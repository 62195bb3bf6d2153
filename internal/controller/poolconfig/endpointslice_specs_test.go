package poolconfig

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/planner"
)

func testPod(name, ip string, ready, terminating bool) corev1.Pod {
	p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "apps"}, Spec: corev1.PodSpec{NodeName: "node-a"}}
	p.Status.PodIP = ip
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}
	if terminating {
		p.DeletionTimestamp = &metav1.Time{}
	}
	return p
}

// describe is a slice as name/family port... address(ready,serving,terminating)...
func describe(slices []*discoveryv1.EndpointSlice) string {
	var out []string
	for _, s := range slices {
		d := fmt.Sprintf("%s/%s svc=%s", s.Name, s.AddressType, s.Labels[discoveryv1.LabelServiceName])
		for _, p := range s.Ports {
			d += fmt.Sprintf(" %s->%d", *p.Name, *p.Port)
		}
		for _, e := range s.Endpoints {
			d += fmt.Sprintf(" %s(%t,%t,%t)", e.Addresses[0], *e.Conditions.Ready, *e.Conditions.Serving, *e.Conditions.Terminating)
		}
		out = append(out, d)
	}
	return strings.Join(out, " | ")
}

// servingAll says every pod's proxy serves every port.
func servingAll(pods []corev1.Pod, ports []planner.ClusterPort) Serving {
	out := Serving{}
	for _, p := range pods {
		for _, port := range ports {
			out[p.Name] = append(out[p.Name], port.Service)
		}
	}
	return out
}

// A ready pod is no ready endpoint until its proxy reports it serves every
// port's service: it does not listen there before. Found on a real node,
// where kube-proxy sent an in-cluster client to a pod still applying the
// configuration that added the service, and the connection was refused.
func TestClusterEndpointSlicesWaitForTheProxy(t *testing.T) {
	ep := &gatewayv1alpha1.TailscaleEndpoints{ObjectMeta: metav1.ObjectMeta{Name: "east", Namespace: "apps"}}
	ports := []planner.ClusterPort{{Name: "tcp-80", Port: 80, PodPort: 21234, Service: "svc:web:80"}, {Name: "tcp-443", Port: 443, PodPort: 25678, Service: "svc:web:443"}}
	pods := []corev1.Pod{
		testPod("east-0", "10.0.0.1", true, false),
		testPod("east-1", "10.0.0.2", true, false),
		testPod("east-2", "10.0.0.3", true, false),
	}
	serving := Serving{"east-0": {"pool:80", "svc:web:443", "svc:web:80"}, "east-1": {"pool:80", "svc:web:80"}}
	got := describe(ClusterEndpointSlices(ep, "web", ports, pods, serving))
	want := "web-vip-east/IPv4 svc=web-vip tcp-80->21234 tcp-443->25678 10.0.0.1(true,true,false) 10.0.0.2(false,false,false) 10.0.0.3(false,false,false)"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestClusterEndpointSlices(t *testing.T) {
	ep := &gatewayv1alpha1.TailscaleEndpoints{ObjectMeta: metav1.ObjectMeta{Name: "east", Namespace: "apps"}}
	ports := []planner.ClusterPort{{Name: "tcp-80", Port: 80, PodPort: 21234, Service: "svc:web:80"}, {Name: "tcp-443", Port: 443, PodPort: 25678, Service: "svc:web:443"}}
	tests := []struct {
		name string
		pods []corev1.Pod
		want string
	}{
		{"no pods: an empty IPv4 slice keeps the ports", nil,
			"web-vip-east/IPv4 svc=web-vip tcp-80->21234 tcp-443->25678"},
		{"ready, not ready, terminating", []corev1.Pod{
			testPod("east-0", "10.0.0.1", true, false),
			testPod("east-1", "10.0.0.2", false, false),
			testPod("east-2", "10.0.0.3", true, true),
		}, "web-vip-east/IPv4 svc=web-vip tcp-80->21234 tcp-443->25678 10.0.0.1(true,true,false) 10.0.0.2(false,false,false) 10.0.0.3(false,true,true)"},
		{"pods without a usable address are left out", []corev1.Pod{
			testPod("east-0", "", true, false),
			testPod("east-1", "127.0.0.1", true, false),
			testPod("east-2", "169.254.0.9", true, false),
			testPod("east-3", "10.0.0.4", true, false),
		}, "web-vip-east/IPv4 svc=web-vip tcp-80->21234 tcp-443->25678 10.0.0.4(true,true,false)"},
		{"IPv6 pods get a slice of their own", []corev1.Pod{
			testPod("east-0", "10.0.0.1", true, false),
			testPod("east-1", "fd00::1", true, false),
		}, "web-vip-east/IPv4 svc=web-vip tcp-80->21234 tcp-443->25678 10.0.0.1(true,true,false) | " +
			"web-vip-east-ipv6/IPv6 svc=web-vip tcp-80->21234 tcp-443->25678 fd00::1(true,true,false)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ClusterEndpointSlices(ep, "web", ports, tt.pods, servingAll(tt.pods, ports))
			if d := describe(got); d != tt.want {
				t.Errorf("got  %s\nwant %s", d, tt.want)
			}
			for _, s := range got {
				if s.Labels[discoveryv1.LabelManagedBy] != SliceManager || s.Labels["gateway.tailscale.com/pool"] != "east" {
					t.Errorf("%s labels %v", s.Name, s.Labels)
				}
				for _, e := range s.Endpoints {
					if e.TargetRef == nil || e.TargetRef.Kind != "Pod" || e.NodeName == nil || *e.NodeName != "node-a" {
						t.Errorf("%s endpoint %v: want the pod as target and its node", s.Name, e.Addresses)
					}
				}
			}
		})
	}
}

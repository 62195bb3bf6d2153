package planner

import (
	"fmt"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/backend"
	"github.com/tailscale-gateway/tailscale-gateway/internal/proxyconfig"
)

func hostedKeys(keys ...string) []hostedPort {
	out := make([]hostedPort, len(keys))
	for i, k := range keys {
		out[i] = hostedPort{config: proxyconfig.Service{Name: k}}
	}
	return out
}

// collidingKeys finds two keys whose preferred pod ports are the same.
func collidingKeys(t *testing.T) (string, string) {
	t.Helper()
	seen := map[int32]string{}
	for i := range 100000 {
		k := fmt.Sprintf("svc:s%d:80", i)
		p := preferredPodPort(k)
		if other, ok := seen[p]; ok {
			return other, k
		}
		seen[p] = k
	}
	t.Fatal("no collision among 100000 keys")
	return "", ""
}

func TestAllocatePodPorts(t *testing.T) {
	a, b := collidingKeys(t)
	first, second := min(a, b), max(a, b)
	tests := []struct {
		name string
		keys []string
		want map[string]int32
	}{
		{"one key takes its hash", []string{"svc:web:80"}, map[string]int32{"svc:web:80": preferredPodPort("svc:web:80")}},
		{"a collision moves the key that sorts last", []string{second, first},
			map[string]int32{first: preferredPodPort(first), second: preferredPodPort(first) + 1}},
		{"order of the input does not matter", []string{first, second},
			map[string]int32{first: preferredPodPort(first), second: preferredPodPort(first) + 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := allocatePodPorts(hostedKeys(tt.keys...))
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPodPortsWrapAtTheEndOfTheRange(t *testing.T) {
	last := int32(podPortBase + podPortRange - 1)
	var keys []string
	for i := 0; len(keys) < 2; i++ {
		if k := fmt.Sprintf("svc:s%d:443", i); preferredPodPort(k) == last {
			keys = append(keys, k)
		}
	}
	first, second := min(keys[0], keys[1]), max(keys[0], keys[1])
	got := allocatePodPorts(hostedKeys(keys...))
	if got[first] != last || got[second] != podPortBase {
		t.Errorf("got %v, want %s on %d and %s on %d", got, first, last, second, podPortBase)
	}
}

func TestClusterServiceCheck(t *testing.T) {
	withPorts := func(name string, ports ...gatewayv1alpha1.VIPServicePort) Service {
		return Service{Object: &gatewayv1alpha1.TailscaleServices{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec:       gatewayv1alpha1.TailscaleServicesSpec{VIPService: &gatewayv1alpha1.VIPServiceSpec{Ports: ports}},
		}}
	}
	off := func(s Service) Service {
		s.Object.Spec.ClusterService = &gatewayv1alpha1.ClusterServiceSpec{Enabled: ptr.To(false)}
		return s
	}
	tests := []struct {
		name    string
		service Service
		want    string // reason, "" for none
	}{
		{"a DNS label with a TCP port", withPorts("web", "tcp:80"), ""},
		{"dots are not allowed in a Service name", withPorts("web.example", "tcp:80"), "InvalidName"},
		{"59 characters fit, 60 do not", withPorts(strings.Repeat("a", 60), "tcp:80"), "InvalidName"},
		{"59 characters", withPorts(strings.Repeat("a", 59), "tcp:80"), ""},
		{"a name starting with a digit", withPorts("1web", "tcp:80"), "InvalidName"},
		{"only UDP ports", withPorts("dns", "udp:53"), "NoPorts"},
		{"no ports and no pools", withPorts("empty"), "NoPorts"},
		{"turned off", off(withPorts("web", "tcp:80")), "Disabled"},
		{"turned off wins over a bad name", off(withPorts("web.example", "tcp:80")), "Disabled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ClusterServiceCheck(tt.service)
			switch {
			case tt.want == "" && got != nil:
				t.Errorf("problem %+v, want none", got)
			case tt.want != "" && (got == nil || got.Reason != tt.want):
				t.Errorf("problem %+v, want reason %s", got, tt.want)
			case got != nil && !strings.Contains(got.Message, InClusterServiceName(tt.service.Object.Name)):
				t.Errorf("message %q does not name the Service", got.Message)
			}
		})
	}
}

func TestClusterServiceEnabled(t *testing.T) {
	for _, tt := range []struct {
		name string
		spec *gatewayv1alpha1.ClusterServiceSpec
		want bool
	}{
		{"omitted", nil, true},
		{"empty, as before the API server defaults it", &gatewayv1alpha1.ClusterServiceSpec{}, true},
		{"true", &gatewayv1alpha1.ClusterServiceSpec{Enabled: ptr.To(true)}, true},
		{"false", &gatewayv1alpha1.ClusterServiceSpec{Enabled: ptr.To(false)}, false},
	} {
		ts := &gatewayv1alpha1.TailscaleServices{Spec: gatewayv1alpha1.TailscaleServicesSpec{ClusterService: tt.spec}}
		if got := ClusterServiceEnabled(ts); got != tt.want {
			t.Errorf("%s: ClusterServiceEnabled = %t, want %t", tt.name, got, tt.want)
		}
	}
}

// Turning one service's in-cluster Service off takes its pod listener and
// EndpointSlice ports away, keeps its tailnet listener, and moves no other
// service's pod port.
func TestPoolConfigWithoutClusterService(t *testing.T) {
	p := Pool{Name: "pool", Ports: []gatewayv1alpha1.ProxyPort{{Port: 80}},
		Machines: []gatewayv1alpha1.Machine{{Name: "pool-0", Ready: true, TailnetIPs: []string{"100.64.0.1"}}},
		Backend:  backend.Result{Targets: []backend.Target{{Port: 80, Protocol: gatewayv1alpha1.ProtocolTCP, Addresses: []string{"127.0.0.1:8080"}}}}}
	service := func(name string, enabled bool) Service {
		return Service{Pools: []Pool{p}, Object: &gatewayv1alpha1.TailscaleServices{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec:       gatewayv1alpha1.TailscaleServicesSpec{ClusterService: &gatewayv1alpha1.ClusterServiceSpec{Enabled: ptr.To(enabled)}},
		}}
	}
	_, before, err := PoolConfig(p, "", []Service{service("a", true), service("b", true)})
	if err != nil {
		t.Fatal(err)
	}
	cfg, after, err := PoolConfig(p, "", []Service{service("a", false), service("b", true)})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := after["a"]; ok {
		t.Errorf("a has EndpointSlice ports %v with its in-cluster Service off", after["a"])
	}
	if fmt.Sprint(after["b"]) != fmt.Sprint(before["b"]) {
		t.Errorf("b's pod ports moved from %v to %v", before["b"], after["b"])
	}
	var listeners []string
	for _, l := range cfg.Listeners {
		listeners = append(listeners, fmt.Sprintf("%s %s %s", l.Network, l.Address, l.Service))
	}
	want := []string{"tailnet :80 pool:80", "tailnet :80 svc:a:80", "tailnet :80 svc:b:80",
		fmt.Sprintf("pod :%d svc:b:80", before["b"][0].PodPort)}
	if fmt.Sprint(listeners) != fmt.Sprint(want) {
		t.Errorf("listeners %q, want %q", listeners, want)
	}
}

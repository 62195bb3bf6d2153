package planner

import (
	"fmt"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
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

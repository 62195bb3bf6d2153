package planner

import (
	"fmt"
	"testing"

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

package poolconfig

import (
	"flag"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/planner"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestDualStackSlicesGolden pins the EndpointSlices of a dual-stack pool:
// one slice per family, IPv6 in <service>-<pool>-ipv6, a pod that is not
// ready listed as not ready, a terminating one as serving and terminating,
// a pod without an address left out.
func TestDualStackSlicesGolden(t *testing.T) {
	ep := &gatewayv1alpha1.TailscaleEndpoints{ObjectMeta: metav1.ObjectMeta{Name: "web-east", Namespace: "apps"}}
	ports := []planner.ClusterPort{{Name: "tcp-80", Port: 80, PodPort: 24080, Service: "svc:web:80"}, {Name: "tcp-443", Port: 443, PodPort: 24443, Service: "svc:web:443"}}
	pods := []corev1.Pod{
		testPod("web-east-0", "10.1.0.10", true, false),
		testPod("web-east-1", "fd00:10:1::11", true, false),
		testPod("web-east-2", "10.1.0.12", false, false),
		testPod("web-east-3", "fd00:10:1::13", true, true),
		testPod("web-east-4", "", true, false),
	}
	got, err := yaml.Marshal(ClusterEndpointSlices(ep, "web", ports, pods, servingAll(pods, ports)))
	if err != nil {
		t.Fatal(err)
	}
	const golden = "testdata/dual-stack-slices.golden.yaml"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-golden +built; go test -update rewrites it):\n%s", golden, diff)
	}
}

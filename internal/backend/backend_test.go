package backend

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
)

const ns = "prod"

func pool(backend *gatewayv1alpha1.EndpointsBackend, ports ...int32) *gatewayv1alpha1.TailscaleEndpoints {
	ep := &gatewayv1alpha1.TailscaleEndpoints{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns}}
	ep.Spec.Backend = backend
	for _, p := range ports {
		ep.Spec.Proxy.Ports = append(ep.Spec.Proxy.Ports, gatewayv1alpha1.ProxyPort{Port: p, Protocol: gatewayv1alpha1.ProtocolTCP})
	}
	return ep
}

func service(name string, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: corev1.ServiceSpec{Ports: ports}}
}

func svcPort(name string, port, target int32) corev1.ServicePort {
	return corev1.ServicePort{Name: name, Port: port, TargetPort: intstr.FromInt32(target), Protocol: corev1.ProtocolTCP}
}

type ep struct {
	ip    string
	ready *bool
}

func slice(svc, name string, ports map[string]int32, eps ...ep) discoveryv1.EndpointSlice {
	s := discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4,
	}
	for n, p := range ports {
		s.Ports = append(s.Ports, discoveryv1.EndpointPort{Name: ptr.To(n), Port: ptr.To(p), Protocol: ptr.To(corev1.ProtocolTCP)})
	}
	for _, e := range eps {
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{e.ip}, Conditions: discoveryv1.EndpointConditions{Ready: e.ready}})
	}
	return s
}

func tcp(port int32, addrs ...string) Target {
	return Target{Port: port, Protocol: gatewayv1alpha1.ProtocolTCP, Addresses: addrs}
}

func TestResolve(t *testing.T) {
	yes, no := ptr.To(true), ptr.To(false)
	namedBackend := &gatewayv1alpha1.EndpointsBackend{Service: &gatewayv1alpha1.ServiceBackend{Name: "api", Port: 80}}
	tests := []struct {
		name        string
		pool        *gatewayv1alpha1.TailscaleEndpoints
		svc         *corev1.Service
		slices      []discoveryv1.EndpointSlice
		want        Result
		wantProblem string
	}{
		{
			name: "named service: every pool port goes to the one service port, mapped to its target port",
			pool: pool(namedBackend, 80, 443),
			svc:  service("api", svcPort("http", 80, 8080), svcPort("metrics", 9090, 9090)),
			slices: []discoveryv1.EndpointSlice{
				slice("api", "api-a", map[string]int32{"http": 8080, "metrics": 9090}, ep{"10.0.0.2", yes}, ep{"10.0.0.1", nil}, ep{"10.0.0.9", no}),
				slice("api", "api-b", map[string]int32{"http": 8080}, ep{"10.0.0.3", yes}, ep{"10.0.0.1", yes}),
				slice("other", "other-a", map[string]int32{"http": 8080}, ep{"10.9.9.9", yes}),
			},
			want: Result{Service: "api", Targets: []Target{
				tcp(80, "10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.3:8080"),
				tcp(443, "10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.3:8080"),
			}},
		},
		{
			name:   "named service without pool ports listens on the service port",
			pool:   pool(namedBackend),
			svc:    service("api", svcPort("", 80, 8080)),
			slices: []discoveryv1.EndpointSlice{slice("api", "api-a", map[string]int32{"": 8080}, ep{"10.0.0.1", yes})},
			want:   Result{Service: "api", Targets: []Target{tcp(80, "10.0.0.1:8080")}},
		},
		{
			name:        "named service missing",
			pool:        pool(namedBackend, 80),
			want:        Result{Service: "api"},
			wantProblem: gatewayv1alpha1.ReasonServiceNotFound,
		},
		{
			name:        "named service lacks the port",
			pool:        pool(namedBackend, 80),
			svc:         service("api", svcPort("http", 8080, 8080)),
			want:        Result{Service: "api"},
			wantProblem: gatewayv1alpha1.ReasonServicePortNotFound,
		},
		{
			name:        "named service with no ready endpoint",
			pool:        pool(namedBackend, 80),
			svc:         service("api", svcPort("http", 80, 8080)),
			slices:      []discoveryv1.EndpointSlice{slice("api", "api-a", map[string]int32{"http": 8080}, ep{"10.0.0.1", no})},
			want:        Result{Service: "api", Targets: []Target{tcp(80)}},
			wantProblem: gatewayv1alpha1.ReasonNoReadyEndpoints,
		},
		{
			name: "default backend: each pool port goes to the same-numbered service port",
			pool: pool(nil, 80, 443),
			svc:  service("web", svcPort("http", 80, 8080), svcPort("https", 443, 8443)),
			slices: []discoveryv1.EndpointSlice{
				slice("web", "web-a", map[string]int32{"http": 8080, "https": 8443}, ep{"10.0.0.1", yes}),
			},
			want: Result{Service: "web", Targets: []Target{tcp(80, "10.0.0.1:8080"), tcp(443, "10.0.0.1:8443")}},
		},
		{
			name:   "default backend without pool ports uses every service port",
			pool:   pool(nil),
			svc:    service("web", svcPort("https", 443, 8443), svcPort("http", 80, 8080)),
			slices: []discoveryv1.EndpointSlice{slice("web", "web-a", map[string]int32{"http": 8080, "https": 8443}, ep{"10.0.0.1", yes})},
			want:   Result{Service: "web", Targets: []Target{tcp(80, "10.0.0.1:8080"), tcp(443, "10.0.0.1:8443")}},
		},
		{
			name:        "default backend missing one port keeps the others",
			pool:        pool(nil, 80, 443),
			svc:         service("web", svcPort("http", 80, 8080)),
			slices:      []discoveryv1.EndpointSlice{slice("web", "web-a", map[string]int32{"http": 8080}, ep{"10.0.0.1", yes})},
			want:        Result{Service: "web", Targets: []Target{tcp(80, "10.0.0.1:8080")}},
			wantProblem: gatewayv1alpha1.ReasonServicePortNotFound,
		},
		{
			name:        "default backend service missing",
			pool:        pool(nil, 80),
			want:        Result{Service: "web"},
			wantProblem: gatewayv1alpha1.ReasonServiceNotFound,
		},
		{
			name:        "default backend with no ports anywhere",
			pool:        pool(nil),
			svc:         service("web"),
			want:        Result{Service: "web"},
			wantProblem: gatewayv1alpha1.ReasonNoPorts,
		},
		{
			name: "external name service",
			pool: pool(namedBackend, 80),
			svc: &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: ns}, Spec: corev1.ServiceSpec{
				Type: corev1.ServiceTypeExternalName, ExternalName: "api.example.com", Ports: []corev1.ServicePort{svcPort("http", 80, 80)},
			}},
			want: Result{Service: "api", Targets: []Target{tcp(80, "api.example.com:80")}},
		},
		{
			name: "fixed addresses, as given, on every pool port",
			pool: pool(&gatewayv1alpha1.EndpointsBackend{Addresses: []gatewayv1alpha1.HostPort{"10.1.0.2:8080", "[fd00::7]:8080", "10.1.0.1:8080"}}, 80),
			want: Result{Targets: []Target{tcp(80, "10.1.0.1:8080", "10.1.0.2:8080", "[fd00::7]:8080")}},
		},
		{
			name: "fixed addresses without pool ports listen on the addresses' ports",
			pool: pool(&gatewayv1alpha1.EndpointsBackend{Addresses: []gatewayv1alpha1.HostPort{"db.internal:5432", "10.1.0.1:8080"}}),
			want: Result{Targets: []Target{
				tcp(5432, "10.1.0.1:8080", "db.internal:5432"),
				tcp(8080, "10.1.0.1:8080", "db.internal:5432"),
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, problem := Resolve(tt.pool, tt.svc, tt.slices)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Result (-want +got):\n%s", diff)
			}
			gotReason := ""
			if problem != nil {
				gotReason = problem.Reason
				if problem.Message == "" {
					t.Errorf("problem %s has no message", problem.Reason)
				}
			}
			if gotReason != tt.wantProblem {
				t.Errorf("problem = %v, want reason %q", problem, tt.wantProblem)
			}
		})
	}
}

func TestServiceName(t *testing.T) {
	if got := ServiceName(pool(nil)); got != "web" {
		t.Errorf("default backend: %q, want web", got)
	}
	if got := ServiceName(pool(&gatewayv1alpha1.EndpointsBackend{Service: &gatewayv1alpha1.ServiceBackend{Name: "api", Port: 80}})); got != "api" {
		t.Errorf("service backend: %q, want api", got)
	}
	if got := ServiceName(pool(&gatewayv1alpha1.EndpointsBackend{Addresses: []gatewayv1alpha1.HostPort{"a:1"}})); got != "" {
		t.Errorf("addresses backend: %q, want none", got)
	}
}

func TestResultAddresses(t *testing.T) {
	r := Result{Targets: []Target{tcp(80, "a:1")}}
	if got := r.Addresses(80, ""); len(got) != 1 {
		t.Errorf("Addresses(80, default TCP) = %v", got)
	}
	if got := r.Addresses(80, gatewayv1alpha1.ProtocolUDP); got != nil {
		t.Errorf("Addresses(80, UDP) = %v, want nil", got)
	}
}

package translate

import "testing"

func TestCheckClusterDomain(t *testing.T) {
	tests := []struct {
		domain string
		ok     bool
	}{
		{"cluster.local", true},
		{"corp.example", true},
		{"k8s-1.internal", true},
		{"local", true},
		{"", false},
		{"cluster.local.", false},
		{".cluster.local", false},
		{"Cluster.local", false},
		{"cluster..local", false},
		{"-cluster.local", false},
		{"cluster_local", false},
		{"cluster.local:53", false},
	}
	for _, tt := range tests {
		err := CheckClusterDomain(tt.domain)
		if (err == nil) != tt.ok {
			t.Errorf("CheckClusterDomain(%q) = %v, want ok %v", tt.domain, err, tt.ok)
		}
	}
}

func TestBackendHost(t *testing.T) {
	b := &Backend{Namespace: "shop", Name: "web", Port: 80}
	if got, want := b.Host("cluster.local"), "web-vip.shop.svc.cluster.local"; got != want {
		t.Errorf("Host = %q, want %q", got, want)
	}
	if got, want := b.String(), "shop/web"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
}

// TestServiceName: the status's name wins; without it, <name>-vip, the
// operator's rule (its planner's InClusterServiceName).
func TestServiceName(t *testing.T) {
	for _, tt := range []struct {
		b    Backend
		want string
	}{
		{Backend{Name: "web"}, "web-vip"},
		{Backend{Name: "web", Service: "web-vip"}, "web-vip"},
		{Backend{Name: "web", Service: "other"}, "other"},
	} {
		if got := tt.b.ServiceName(); got != tt.want {
			t.Errorf("%+v: ServiceName = %q, want %q", tt.b, got, tt.want)
		}
	}
}

func TestBackendOfReadsStatus(t *testing.T) {
	raw := []byte(`{"apiVersion": "gateway.tailscale.com/v1alpha1", "kind": "TailscaleServices",
		"metadata": {"name": "web", "namespace": "shop"},
		"spec": {"vipService": {"ports": ["tcp:80"]}},
		"status": {"clusterServiceName": "web-vip-2"}}`)
	b, err := backendOf([][]byte{raw}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.ServiceName(); got != "web-vip-2" {
		t.Errorf("ServiceName = %q, want the status's web-vip-2", got)
	}
}

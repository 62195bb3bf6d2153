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

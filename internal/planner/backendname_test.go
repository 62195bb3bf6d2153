package planner

import "testing"

func TestBackendNamesRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		built string
		want  backendName
	}{
		{"pool machine", PoolBackendName("web-east", "web-east-0"), backendName{group: "web-east", member: "web-east-0"}},
		{"pool address", PoolBackendName("web", "10.0.0.7:8080"), backendName{group: "web", member: "10.0.0.7:8080"}},
		{"pool IPv6 address", PoolBackendName("web", "[fd7a::1]:80"), backendName{group: "web", member: "[fd7a::1]:80"}},
		{"external service", ExternalBackendName("legacy-db"), backendName{external: true, group: "legacy-db"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseBackendName(tt.built)
			if !ok || got != tt.want {
				t.Fatalf("parseBackendName(%q) = %+v, %v; want %+v", tt.built, got, ok, tt.want)
			}
		})
	}
}

func TestParseBackendNameRefusesOtherNames(t *testing.T) {
	for _, name := range []string{"", "10.0.0.7:8080", "external/", "/web-0", "web/"} {
		if got, ok := parseBackendName(name); ok {
			t.Errorf("parseBackendName(%q) = %+v, want not ok", name, got)
		}
	}
}

package translate

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/tailscale-gateway/tailscale-gateway/envoy-extension/internal/egsample"
)

func TestParseClusterName(t *testing.T) {
	tests := []struct {
		name string
		want RouteRule
		ok   bool
	}{
		{"httproute/default/web-route/rule/0", RouteRule{Namespace: "default", Name: "web-route", Rule: 0, Backend: NoBackend}, true},
		{"httproute/shop/web/rule/12", RouteRule{Namespace: "shop", Name: "web", Rule: 12, Backend: NoBackend}, true},
		{"httproute/shop/web/rule/2/backend/1", RouteRule{Namespace: "shop", Name: "web", Rule: 2, Backend: 1}, true},
		{"grpcroute/default/web-route/rule/0", RouteRule{}, false},
		{"tlsroute/default/web-route/rule/-1", RouteRule{}, false},
		{"httproute/default/web-route/rule/0-mirror-0", RouteRule{}, false},
		{"httproute/default/web-route/rule/0/backend/-1", RouteRule{}, false},
		{"httproute/default/web-route/rule/01", RouteRule{}, false},
		{"httproute/default/web-route/rule/+1", RouteRule{}, false},
		{"httproute/default/web-route/rule/0/match/0", RouteRule{}, false},
		{"httproute/default/web-route/rule/0/backend/0/extra", RouteRule{}, false},
		{"httproute//web-route/rule/0", RouteRule{}, false},
		{"service/default/web/80", RouteRule{}, false},
		{"", RouteRule{}, false},
	}
	for _, tt := range tests {
		got, ok := ParseClusterName(tt.name)
		if ok != tt.ok || got != tt.want {
			t.Errorf("ParseClusterName(%q) = %+v, %v; want %+v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

// ref is a backendRef to TailscaleServices name, in namespace when not "",
// on port when not 0.
func ref(name, namespace string, port gwapiv1.PortNumber) gwapiv1.HTTPBackendRef {
	group, kind := gwapiv1.Group(group), gwapiv1.Kind(kind)
	r := gwapiv1.BackendObjectReference{Group: &group, Kind: &kind, Name: gwapiv1.ObjectName(name)}
	if namespace != "" {
		ns := gwapiv1.Namespace(namespace)
		r.Namespace = &ns
	}
	if port != 0 {
		r.Port = &port
	}
	return gwapiv1.HTTPBackendRef{BackendRef: gwapiv1.BackendRef{BackendObjectReference: r}}
}

func serviceRef(name string, port gwapiv1.PortNumber) gwapiv1.HTTPBackendRef {
	return gwapiv1.HTTPBackendRef{BackendRef: gwapiv1.BackendRef{BackendObjectReference: gwapiv1.BackendObjectReference{Name: gwapiv1.ObjectName(name), Port: &port}}}
}

func route(rules ...[]gwapiv1.HTTPBackendRef) *gwapiv1.HTTPRoute {
	r := &gwapiv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web-route"}}
	for _, refs := range rules {
		r.Spec.Rules = append(r.Spec.Rules, gwapiv1.HTTPRouteRule{BackendRefs: refs})
	}
	return r
}

func TestBackendRefPort(t *testing.T) {
	const ts = "production-web-service"
	otherGroup := ref(ts, "", 80)
	g := gwapiv1.Group("tailscale.com")
	otherGroup.Group = &g
	noKind := ref(ts, "", 80)
	noKind.Kind = nil
	tests := []struct {
		name       string
		route      *gwapiv1.HTTPRoute
		rule       int
		backend    int
		namespace  string
		wantPort   uint32
		wantErr    []string
		wantNoPort bool
		perBackend bool // backend is an index, not NoBackend
	}{{
		name:     "port given",
		route:    route([]gwapiv1.HTTPBackendRef{ref(ts, "", 80)}),
		wantPort: 80,
	}, {
		name:     "the rule's index",
		route:    route([]gwapiv1.HTTPBackendRef{ref(ts, "", 80)}, []gwapiv1.HTTPBackendRef{ref(ts, "", 443)}),
		rule:     1,
		wantPort: 443,
	}, {
		name:       "port missing",
		route:      route([]gwapiv1.HTTPBackendRef{ref(ts, "", 0)}),
		wantErr:    []string{"spec.rules[0].backendRefs[0].port of HTTPRoute default/web-route is not set", "set it"},
		wantNoPort: true,
	}, {
		name:    "no matching ref",
		route:   route([]gwapiv1.HTTPBackendRef{serviceRef(ts, 80), ref("other", "", 80), otherGroup, noKind, ref(ts, "shop", 80)}),
		wantErr: []string{"spec.rules[0] of HTTPRoute default/web-route has no backendRef with group gateway.tailscale.com, kind TailscaleServices, name production-web-service in namespace default"},
	}, {
		name:    "several matching refs with different ports",
		route:   route([]gwapiv1.HTTPBackendRef{ref(ts, "", 80), ref(ts, "default", 443)}),
		wantErr: []string{"spec.rules[0].backendRefs[0].port and spec.rules[0].backendRefs[1].port", "80 and 443", "split them into separate rules"},
	}, {
		name:     "several matching refs with the same port",
		route:    route([]gwapiv1.HTTPBackendRef{ref(ts, "", 80), ref(ts, "", 80)}),
		wantPort: 80,
	}, {
		name:      "ref with explicit namespace",
		route:     route([]gwapiv1.HTTPBackendRef{ref(ts, "", 80), ref(ts, "shop", 8443)}),
		namespace: "shop",
		wantPort:  8443,
	}, {
		name:       "backend index picks one ref",
		perBackend: true,
		route:      route([]gwapiv1.HTTPBackendRef{ref(ts, "", 80), ref(ts, "", 443)}),
		backend:    1,
		wantPort:   443,
	}, {
		name:       "backend index at another backend",
		perBackend: true,
		route:      route([]gwapiv1.HTTPBackendRef{serviceRef("web", 80), ref(ts, "", 443)}),
		backend:    0,
		wantErr:    []string{"spec.rules[0].backendRefs[0] of HTTPRoute default/web-route has no backendRef"},
	}, {
		name:       "backend index out of range",
		perBackend: true,
		route:      route([]gwapiv1.HTTPBackendRef{ref(ts, "", 80)}),
		backend:    1,
		wantErr:    []string{"has 1 backendRefs, so no backendRefs[1]"},
	}, {
		name:    "rule out of range",
		route:   route([]gwapiv1.HTTPBackendRef{ref(ts, "", 80)}),
		rule:    1,
		wantErr: []string{"HTTPRoute default/web-route has 1 rules, so no spec.rules[1]"},
	}, {
		name:    "no route",
		wantErr: []string{"no HTTPRoute"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			namespace := tt.namespace
			if namespace == "" {
				namespace = "default"
			}
			backend := tt.backend
			if !tt.perBackend {
				backend = NoBackend
			}
			got, err := BackendRefPort(tt.route, tt.rule, backend, namespace, ts)
			if tt.wantErr == nil {
				if err != nil || got != tt.wantPort {
					t.Errorf("BackendRefPort = %d, %v; want %d", got, err, tt.wantPort)
				}
				return
			}
			if err == nil {
				t.Fatalf("BackendRefPort = %d, want an error", got)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			if errors.Is(err, ErrPortNotSet) != tt.wantNoPort {
				t.Errorf("errors.Is(%v, ErrPortNotSet) = %v, want %v", err, !tt.wantNoPort, tt.wantNoPort)
			}
		})
	}
}

func TestAloneInRule(t *testing.T) {
	const ts = "production-web-service"
	weighted := func(r gwapiv1.HTTPBackendRef, w int32) gwapiv1.HTTPBackendRef {
		r.Weight = &w
		return r
	}
	otherGroup := ref(ts, "", 80)
	g := gwapiv1.Group("tailscale.com")
	otherGroup.Group = &g
	tests := []struct {
		name    string
		route   *gwapiv1.HTTPRoute
		rule    int
		wantErr string
	}{
		{name: "alone", route: route([]gwapiv1.HTTPBackendRef{ref(ts, "", 80)})},
		{name: "twice, alone", route: route([]gwapiv1.HTTPBackendRef{ref(ts, "", 80), ref(ts, "default", 80)})},
		{name: "others in other rules", route: route([]gwapiv1.HTTPBackendRef{serviceRef("web", 8080)}, []gwapiv1.HTTPBackendRef{ref(ts, "", 80)}), rule: 1},
		{name: "a Service of weight 0", route: route([]gwapiv1.HTTPBackendRef{ref(ts, "", 80), weighted(serviceRef("web", 8080), 0)})},
		{name: "no such rule (BackendRefPort says)", route: route([]gwapiv1.HTTPBackendRef{serviceRef("web", 8080)}), rule: 3},
		{name: "no route", route: nil},
		{
			name:    "with a Service",
			route:   route([]gwapiv1.HTTPBackendRef{serviceRef("web", 8080), weighted(ref(ts, "", 80), 3)}),
			wantErr: "spec.rules[0].backendRefs[0] of HTTPRoute default/web-route (Service default/web) shares the rule with TailscaleServices default/production-web-service",
		},
		{
			name:    "with a Service of weight 1",
			route:   route([]gwapiv1.HTTPBackendRef{ref(ts, "", 80), weighted(serviceRef("web", 8080), 1)}),
			wantErr: "spec.rules[0].backendRefs[1] of HTTPRoute default/web-route (Service default/web)",
		},
		{
			name:    "with another TailscaleServices",
			route:   route([]gwapiv1.HTTPBackendRef{ref(ts, "", 80), ref("other", "", 80)}),
			wantErr: "(TailscaleServices.gateway.tailscale.com default/other) shares the rule",
		},
		{
			name:    "with the same name in another group",
			route:   route([]gwapiv1.HTTPBackendRef{ref(ts, "", 80), otherGroup}),
			wantErr: "(TailscaleServices.tailscale.com default/production-web-service) shares the rule",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := AloneInRule(tt.route, tt.rule, "default", ts)
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("AloneInRule: %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "give the TailscaleServices backendRef a rule of its own") {
				t.Errorf("AloneInRule: %v, want an error containing %q and the fix", err, tt.wantErr)
			}
		})
	}
}

// TestClusterPortPrecedence: the backendRef's port wins over the
// TailscaleServices' own rules, which remain the fallback.
func TestClusterPortPrecedence(t *testing.T) {
	const ts = "production-web-service"
	twoPorts := [][]byte{egsample.TailscaleServices(func(o map[string]any) {
		egsample.VIPService(o)["ports"] = []any{"tcp:80", "tcp:443"}
		egsample.Metadata(o)["annotations"] = map[string]any{PortAnnotation: "443"}
	})}
	otherRoute := route([]gwapiv1.HTTPBackendRef{ref(ts, "", 80)})
	otherRoute.Name = "other-route"
	tests := []struct {
		name     string
		cluster  string
		route    *gwapiv1.HTTPRoute
		wantPort uint32
		wantErr  string
	}{
		{"the backendRef's port over the annotation", egsample.ClusterName, route([]gwapiv1.HTTPBackendRef{ref(ts, "", 80)}), 80, ""},
		{"per-backend cluster: refused (perbackend.go)", egsample.ClusterName + "/backend/1", route([]gwapiv1.HTTPBackendRef{serviceRef("web", 8080), ref(ts, "", 80)}), 0, "would get no traffic"},
		{"no route: the annotation", egsample.ClusterName, nil, 443, ""},
		{"no port in the backendRef: the annotation", egsample.ClusterName, route([]gwapiv1.HTTPBackendRef{ref(ts, "", 0)}), 443, ""},
		{"not an HTTPRoute cluster: the annotation", "grpcroute/default/web-route/rule/0", route([]gwapiv1.HTTPBackendRef{ref(ts, "", 80)}), 443, ""},
		{"another route than the cluster's: ignored", egsample.ClusterName, otherRoute, 443, ""},
		{"a backendRef port the TailscaleServices does not list", egsample.ClusterName, route([]gwapiv1.HTTPBackendRef{ref(ts, "", 8080)}), 0, "the backendRef's port in HTTPRoute default/web-route spec.rules[0] is 8080 but spec.vipService.ports lists only the tcp ports tcp:80, tcp:443; use one of them or add tcp:8080"},
		{"refused", egsample.ClusterName, route([]gwapiv1.HTTPBackendRef{ref(ts, "", 80), ref(ts, "", 443)}), 0, "split them into separate rules"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := egsample.Cluster()
			c.Name = tt.cluster
			got, backend, err := Cluster(c, twoPorts, "cluster.local", tt.route)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "default/"+ts) {
					t.Errorf("Cluster error = %v, want one naming the TailscaleServices and containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Cluster: %v", err)
			}
			if diff := cmp.Diff(&Backend{Namespace: "default", Name: ts, Port: tt.wantPort}, backend); diff != "" {
				t.Errorf("backend (-want +got):\n%s", diff)
			}
			if p := got.GetLoadAssignment().GetEndpoints()[0].GetLbEndpoints()[0].GetEndpoint().GetAddress().GetSocketAddress().GetPortValue(); p != tt.wantPort {
				t.Errorf("cluster port = %d, want %d", p, tt.wantPort)
			}
		})
	}
}

package apiemulator_test

import (
	"net/http"
	"net/netip"
	"slices"
	"testing"

	"github.com/tailscale-gateway/tailscale-gateway/internal/apiemulator"
)

func TestVIPServiceValidation(t *testing.T) {
	e := newEnv(t, apiemulator.Options{})
	with := func(k string, v any) map[string]any {
		svc := webService()
		svc[k] = v
		return svc
	}
	tests := []struct {
		name string
		path string
		body any
		want int
	}{
		{"valid", "svc:web", webService(), http.StatusOK},
		{"udp and range ports", "svc:web", with("ports", []string{"udp:53", "tcp:8000-8010"}), http.StatusOK},
		{"no svc prefix", "web", webService(), http.StatusBadRequest},
		{"upper case label", "svc:Web", with("name", "svc:Web"), http.StatusBadRequest},
		{"label ends with dash", "svc:web-", with("name", "svc:web-"), http.StatusBadRequest},
		{"body name differs", "svc:other", webService(), http.StatusBadRequest},
		{"bare port", "svc:web", with("ports", []string{"80"}), http.StatusBadRequest},
		{"port out of range", "svc:web", with("ports", []string{"tcp:70000"}), http.StatusBadRequest},
		{"unknown protocol", "svc:web", with("ports", []string{"sctp:80"}), http.StatusBadRequest},
		{"tag without prefix", "svc:web", with("tags", []string{"web"}), http.StatusBadRequest},
		{"changing addrs", "svc:web", with("addrs", []string{"100.100.9.9"}), http.StatusBadRequest},
		{"not JSON", "svc:web", "{", http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := e.do(t, http.MethodPut, "/api/v2/tailnet/-/vip-services/"+tt.path, tt.body)
			if resp.status != tt.want {
				t.Errorf("status = %d, want %d: %s", resp.status, tt.want, resp.body)
			}
		})
	}
}

func TestVIPServiceAddresses(t *testing.T) {
	e := newEnv(t, apiemulator.Options{})
	put := func(name string, extra map[string]any) apiemulator.VIPService {
		t.Helper()
		body := map[string]any{"ports": []string{"tcp:80"}}
		for k, v := range extra {
			body[k] = v
		}
		resp := e.do(t, http.MethodPut, "/api/v2/tailnet/-/vip-services/"+name, body)
		if resp.status != http.StatusOK {
			t.Fatalf("put %s: %d %s", name, resp.status, resp.body)
		}
		var svc apiemulator.VIPService
		resp.decode(t, &svc)
		return svc
	}
	web := put("svc:web", nil)
	checkVIPAddrs(t, web.Addrs)
	if again := put("svc:web", map[string]any{"comment": "updated"}); !slices.Equal(again.Addrs, web.Addrs) {
		t.Errorf("update changed addrs %v → %v", web.Addrs, again.Addrs)
	}
	db := put("svc:db", nil)
	checkVIPAddrs(t, db.Addrs)
	if db.Addrs[0] == web.Addrs[0] || db.Addrs[1] == web.Addrs[1] {
		t.Errorf("two services share addresses: %v and %v", web.Addrs, db.Addrs)
	}
	e.do(t, http.MethodDelete, "/api/v2/tailnet/-/vip-services/svc:web", nil)
	if recreated := put("svc:web", nil); !slices.Equal(recreated.Addrs, web.Addrs) {
		t.Errorf("re-created service got %v, want its old %v", recreated.Addrs, web.Addrs)
	}
	requested := put("svc:fixed", map[string]any{"addrs": []string{"100.100.200.1", "fd7a:115c:a1e0::6464:c801"}})
	if requested.Addrs[0] != "100.100.200.1" {
		t.Errorf("requested addrs not used: %v", requested.Addrs)
	}
}

func checkVIPAddrs(t *testing.T, addrs []string) {
	t.Helper()
	if len(addrs) != 2 {
		t.Fatalf("addrs = %v, want two", addrs)
	}
	v4, v6 := netip.MustParseAddr(addrs[0]), netip.MustParseAddr(addrs[1])
	if !netip.MustParsePrefix("100.64.0.0/10").Contains(v4) || !netip.MustParsePrefix("fd7a:115c:a1e0::/48").Contains(v6) {
		t.Errorf("addrs %v outside CGNAT / Tailscale ULA", addrs)
	}
}

func TestVIPServiceDeleteAndNotFound(t *testing.T) {
	e := newEnv(t, apiemulator.Options{})
	path := "/api/v2/tailnet/-/vip-services/svc:web"
	e.do(t, http.MethodPut, path, webService())
	if r := e.do(t, http.MethodDelete, path, nil); r.status != http.StatusOK {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	for _, method := range []string{http.MethodGet, http.MethodDelete} {
		if r := e.do(t, method, path, nil); r.status != http.StatusNotFound {
			t.Errorf("%s after delete: %d, want 404", method, r.status)
		}
	}
	if got := e.emu.VIPServices(); len(got) != 0 {
		t.Errorf("VIPServices = %v, want none", got)
	}
}

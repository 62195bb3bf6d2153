package apiemulator_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	tailscale "tailscale.com/client/tailscale/v2"

	"github.com/tailscale-gateway/tailscale-gateway/internal/apiemulator"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json")

// golden is what a golden file holds: the status, the headers that matter
// and the body, with random secrets scrubbed.
type golden struct {
	Status int               `json:"status"`
	Header map[string]string `json:"header,omitempty"`
	Body   any               `json:"body"`
}

// TestResponseShapes pins every response kind to a golden file and checks
// that the bodies decode strictly into the v2 client's types, so a field
// name the real API (and its Go client) would not know shows up here.
func TestResponseShapes(t *testing.T) {
	e := newEnv(t, apiemulator.Options{})
	e.emu.AddDevice(webDevice())
	put := e.do(t, http.MethodPut, "/api/v2/tailnet/-/vip-services/svc:web", webService())
	key := e.do(t, http.MethodPost, "/api/v2/tailnet/-/keys", keyRequest())
	policy := e.do(t, http.MethodGet, "/api/v2/tailnet/-/acl", nil, "Accept", "application/json")
	cases := []struct {
		name   string
		resp   response
		strict any // a v2 client type the body must decode into without unknown fields
		header []string
	}{
		{"token", e.tokenRequest(t, clientID, clientSecret), nil, nil},
		{"token_invalid_client", e.tokenRequest(t, clientID, "wrong"), nil, nil},
		{"unauthorized", send(t, newRequest(t, http.MethodGet, e.url+"/api/v2/tailnet/-/vip-services", nil)), nil, nil},
		{"unknown_tailnet", e.do(t, http.MethodGet, "/api/v2/tailnet/other.ts.net/vip-services", nil), nil, nil},
		{"vip_service_put", put, &tailscale.VIPService{}, nil},
		{"vip_service_get", e.do(t, http.MethodGet, "/api/v2/tailnet/-/vip-services/svc:web", nil), &tailscale.VIPService{}, nil},
		{"vip_services_list", e.do(t, http.MethodGet, "/api/v2/tailnet/"+domain+"/vip-services", nil), &struct {
			VIPServices []tailscale.VIPService `json:"vipServices"`
		}{}, nil},
		{"vip_service_not_found", e.do(t, http.MethodGet, "/api/v2/tailnet/-/vip-services/svc:missing", nil), &tailscale.APIError{}, nil},
		{"vip_service_invalid", e.do(t, http.MethodPut, "/api/v2/tailnet/-/vip-services/web", webService()), &tailscale.APIError{}, nil},
		{"key_create", key, &tailscale.Key{}, nil},
		{"keys_list", e.do(t, http.MethodGet, "/api/v2/tailnet/-/keys", nil), &struct {
			Keys []tailscale.Key `json:"keys"`
		}{}, nil},
		{"devices_list", e.do(t, http.MethodGet, "/api/v2/tailnet/-/devices", nil), &struct {
			Devices []tailscale.Device `json:"devices"`
		}{}, nil},
		{"device_get_all_fields", e.do(t, http.MethodGet, "/api/v2/device/nWEB0CNTRL?fields=all", nil), &tailscale.Device{}, nil},
		{"policy_get", policy, &tailscale.ACL{}, []string{"Etag"}},
		{"policy_precondition_failed", e.do(t, http.MethodPost, "/api/v2/tailnet/-/acl", "{}", "If-Match", `"stale"`), &tailscale.APIError{}, nil},
		{"dns_preferences", e.do(t, http.MethodGet, "/api/v2/tailnet/-/dns/preferences", nil), &tailscale.DNSPreferences{}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.strict != nil {
				dec := json.NewDecoder(bytes.NewReader(tc.resp.body))
				dec.DisallowUnknownFields()
				if err := dec.Decode(tc.strict); err != nil {
					t.Errorf("body does not decode into %T: %v\n%s", tc.strict, err, tc.resp.body)
				}
			}
			checkGolden(t, tc.name, toGolden(t, tc.resp, tc.header))
		})
	}
}

func toGolden(t *testing.T, r response, headers []string) golden {
	g := golden{Status: r.status}
	r.decode(t, &g.Body)
	scrub(g.Body, "access_token", "key")
	for _, h := range headers {
		if g.Header == nil {
			g.Header = map[string]string{}
		}
		g.Header[h] = r.header.Get(h)
	}
	return g
}

// scrub replaces random secrets, wherever they are, with a placeholder.
func scrub(v any, fields ...string) {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			for _, f := range fields {
				if k == f {
					v[k] = "<random>"
				}
			}
			scrub(child, fields...)
		}
	case []any:
		for _, child := range v {
			scrub(child, fields...)
		}
	}
}

func checkGolden(t *testing.T, name string, g golden) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(g); err != nil {
		t.Fatal(err)
	}
	got := buf.Bytes()
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden file (run with -update if intended)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func keyRequest() map[string]any {
	return map[string]any{
		"capabilities": map[string]any{"devices": map[string]any{"create": map[string]any{
			"reusable": false, "ephemeral": false, "preauthorized": true, "tags": []string{"tag:web"},
		}}},
		"expirySeconds": 3600,
		"description":   "web-0",
	}
}

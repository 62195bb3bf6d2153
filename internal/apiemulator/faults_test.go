package apiemulator_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/tailscale-gateway/tailscale-gateway/internal/apiemulator"
)

func TestFaults(t *testing.T) {
	const list = "/api/v2/tailnet/-/vip-services"
	tests := []struct {
		name       string
		pattern    string
		fault      apiemulator.Fault
		method     string
		wantStatus []int // statuses of consecutive requests
		wantRetry  string
	}{
		{"5xx for the next two", "GET " + list, apiemulator.Fault{Status: 503, Times: 2}, http.MethodGet, []int{503, 503, 200}, ""},
		{"429 with Retry-After", "GET " + list, apiemulator.Fault{Status: 429, RetryAfter: 1500 * time.Millisecond, Times: 1}, http.MethodGet, []int{429, 200}, "2"},
		{"any method", "/api/v2/tailnet/*/vip-services", apiemulator.Fault{Status: 500}, http.MethodGet, []int{500, 500}, ""},
		{"other method unaffected", "POST " + list, apiemulator.Fault{Status: 500}, http.MethodGet, []int{200}, ""},
		{"latency only", "GET " + list, apiemulator.Fault{Latency: time.Millisecond}, http.MethodGet, []int{200}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, apiemulator.Options{})
			if err := e.emu.SetFault(tt.pattern, tt.fault); err != nil {
				t.Fatal(err)
			}
			for i, want := range tt.wantStatus {
				r := e.do(t, tt.method, list, nil)
				if r.status != want {
					t.Fatalf("request %d: status %d, want %d", i, r.status, want)
				}
				if i == 0 && r.header.Get("Retry-After") != tt.wantRetry {
					t.Errorf("Retry-After = %q, want %q", r.header.Get("Retry-After"), tt.wantRetry)
				}
			}
		})
	}
}

func TestFaultProbabilityIsRepeatable(t *testing.T) {
	outcomes := func() []int {
		e := newEnv(t, apiemulator.Options{Seed: 42})
		if err := e.emu.SetFault("GET /api/v2/tailnet/-/devices", apiemulator.Fault{Status: 500, Probability: 0.5}); err != nil {
			t.Fatal(err)
		}
		var out []int
		for range 20 {
			out = append(out, e.do(t, http.MethodGet, "/api/v2/tailnet/-/devices", nil).status)
		}
		return out
	}
	first, second := outcomes(), outcomes()
	failures := 0
	for i := range first {
		if first[i] != second[i] {
			t.Fatalf("same seed, different outcomes: %v vs %v", first, second)
		}
		if first[i] == 500 {
			failures++
		}
	}
	if failures == 0 || failures == len(first) {
		t.Errorf("probability 0.5 gave %d failures of %d", failures, len(first))
	}
}

func TestBadFaultPatterns(t *testing.T) {
	emu := apiemulator.New(apiemulator.Options{})
	for _, tc := range []struct {
		pattern string
		fault   apiemulator.Fault
	}{
		{"no-slash", apiemulator.Fault{Status: 500}},
		{"GET /[", apiemulator.Fault{Status: 500}},
		{"GET /x", apiemulator.Fault{Status: 200}},
		{"GET /x", apiemulator.Fault{Status: 500, Probability: 2}},
	} {
		if err := emu.SetFault(tc.pattern, tc.fault); err == nil {
			t.Errorf("SetFault(%q, %+v) accepted", tc.pattern, tc.fault)
		}
	}
}

func TestLatencyEndsWhenTheClientGivesUp(t *testing.T) {
	e := newEnv(t, apiemulator.Options{})
	if err := e.emu.SetFault("GET /api/v2/tailnet/-/devices", apiemulator.Fault{Latency: time.Hour}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	req := newRequest(t, http.MethodGet, e.url+"/api/v2/tailnet/-/devices", nil).WithContext(ctx)
	req.Header.Set("Authorization", "Bearer "+e.token)
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Fatal("request succeeded despite an hour of latency")
	}
}

func TestRequestLog(t *testing.T) {
	e := newEnv(t, apiemulator.Options{})
	e.emu.ResetRequests()
	e.do(t, http.MethodGet, "/api/v2/tailnet/-/vip-services", nil)
	e.do(t, http.MethodPut, "/api/v2/tailnet/-/vip-services/svc:web", webService())
	e.tokenRequest(t, clientID, clientSecret)
	reqs := e.emu.Requests()
	if len(reqs) != 3 || reqs[1].Method != http.MethodPut || reqs[1].Status != http.StatusOK || !reqs[1].Time.Equal(fixedNow) {
		t.Fatalf("requests = %+v", reqs)
	}
	writes := e.emu.WriteRequests()
	if len(writes) != 1 || writes[0].Path != "/api/v2/tailnet/-/vip-services/svc:web" {
		t.Errorf("writes = %+v, want only the PUT (token fetches are not writes)", writes)
	}
	e.emu.ResetRequests()
	if n := len(e.emu.Requests()); n != 0 {
		t.Errorf("%d requests after reset", n)
	}
}

func TestAdminAPI(t *testing.T) {
	e := newEnv(t, apiemulator.Options{})
	post := newRequest(t, http.MethodPost, e.url+"/emulator/faults",
		map[string]any{"pattern": "GET /api/v2/tailnet/-/devices", "fault": map[string]any{"status": 429, "retryAfter": "1s", "times": 1}})
	if r := send(t, post); r.status != http.StatusNoContent {
		t.Fatalf("POST fault: %d %s", r.status, r.body)
	}
	if r := e.do(t, http.MethodGet, "/api/v2/tailnet/-/devices", nil); r.status != 429 || r.header.Get("Retry-After") != "1" {
		t.Errorf("faulted request: %d Retry-After %q", r.status, r.header.Get("Retry-After"))
	}
	var faults []apiemulator.FaultRule
	send(t, newRequest(t, http.MethodGet, e.url+"/emulator/faults", nil)).decode(t, &faults)
	if len(faults) != 1 {
		t.Errorf("faults = %+v", faults)
	}
	send(t, newRequest(t, http.MethodDelete, e.url+"/emulator/faults", nil))
	if len(e.emu.Faults()) != 0 {
		t.Error("faults left after DELETE")
	}
	var log []apiemulator.RequestRecord
	send(t, newRequest(t, http.MethodGet, e.url+"/emulator/requests", nil)).decode(t, &log)
	if len(log) == 0 || log[len(log)-1].Status != 429 || !log[len(log)-1].Fault {
		t.Errorf("request log = %+v", log)
	}
	bad := newRequest(t, http.MethodPost, e.url+"/emulator/faults", map[string]any{"pattern": "nope"})
	if r := send(t, bad); r.status != http.StatusBadRequest {
		t.Errorf("bad fault: %d", r.status)
	}
	dev := newRequest(t, http.MethodPost, e.url+"/emulator/devices", webDevice())
	if r := send(t, dev); r.status != http.StatusNoContent {
		t.Errorf("POST device: %d %s", r.status, r.body)
	}
	if r := e.do(t, http.MethodGet, "/api/v2/device/nWEB0CNTRL", nil); r.status != http.StatusOK {
		t.Errorf("added device not served: %d", r.status)
	}
}

func TestConsumeAuthKey(t *testing.T) {
	e := newEnv(t, apiemulator.Options{})
	var key struct{ Key string }
	e.do(t, http.MethodPost, "/api/v2/tailnet/-/keys", keyRequest()).decode(t, &key)
	if info, err := e.emu.ConsumeAuthKey(key.Key); err != nil || !info.Used {
		t.Fatalf("first use: %+v, %v", info, err)
	}
	if _, err := e.emu.ConsumeAuthKey(key.Key); err == nil {
		t.Error("single-use key admitted twice")
	}
}

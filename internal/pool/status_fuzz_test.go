package pool_test

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
)

// sampleReport is a report as tsgw-proxy writes it (the shape of
// internal/proxy/podmode's sampleReport).
func sampleReport() pool.MachineStatus {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return pool.MachineStatus{
		DeviceID: "nTEST1CNTRL", Hostname: "web-0-prod-1a2b3c", FQDN: "web-0-prod-1a2b3c.tail1234.ts.net",
		TailnetIPs: []string{"100.64.0.9", "fd7a:115c:a1e0::9"}, Ready: true, ConfigGeneration: "42",
		ConfigRefused: &pool.ConfigRefusal{Generation: "43", Error: "services[0].port: 0 is not a port"},
		Services: map[string]pool.ServiceReport{"svc:web:80": {
			ActiveTier: "primary", LastFailover: &at, FailoverReason: "primary-endpoints-recovered",
			Backends: []pool.BackendReport{{Name: "web-east/web-east-0", Group: "web-east", Address: "100.64.0.1:80", Healthy: true, Total: 7, LastCheck: &at}},
		}},
		Updated: at,
	}
}

// FuzzParseStatus: a machine's report is read from a Secret its pod can
// write, so the operator's decoder must never panic, must refuse garbage
// and oversized values with an error that names the field and stays
// short, and must accept only reports whose copied parts are bounded.
func FuzzParseStatus(f *testing.F) {
	good, _ := json.Marshal(sampleReport())
	f.Add(good)
	empty, _ := json.Marshal(pool.MachineStatus{})
	f.Add(empty)
	for _, raw := range []string{
		``, `null`, `[]`, `"report"`, `{`, `{"ready": "yes"}`, `{"tailnetIPs": ["100.64.0.1", "not-an-ip"]}`,
		`{"services": {"svc:web:80": {"backends": [{"name": "a", "total": -1}]}}}`,
		`{"services": {"svc:web:80": {"backends": [{"name": "a", "total": 9223372036854775808}]}}}`,
		`{"updated": "yesterday"}`, `{"configRefused": {"generation": "1", "error": 7}}`,
		`{"deviceID": "` + strings.Repeat("n", 300) + `"}`,
		`{"fqdn": "` + strings.Repeat("a.", 200) + `"}`,
	} {
		f.Add([]byte(raw))
	}
	// Reports over MaxReport are TestParseStatusNamesTheField's: seeds that
	// large slow every mutation down.
	f.Fuzz(func(t *testing.T, raw []byte) {
		st, err := pool.ParseStatus(raw)
		if err != nil {
			if len(err.Error()) > 512 {
				t.Errorf("error of %d bytes: %.100s…", len(err.Error()), err)
			}
			return
		}
		if len(raw) > pool.MaxReport {
			t.Fatalf("accepted %d bytes", len(raw))
		}
		// What the pool's status copies from a report.
		if len(st.FQDN) > 253 || len(st.DeviceID) > 256 || len(st.Hostname) > 253 || len(st.TailnetIPs) > 8 {
			t.Errorf("unbounded report accepted: fqdn %d, deviceID %d, hostname %d bytes, %d IPs", len(st.FQDN), len(st.DeviceID), len(st.Hostname), len(st.TailnetIPs))
		}
		for _, ip := range st.TailnetIPs {
			if _, err := netip.ParseAddr(ip); err != nil {
				t.Errorf("tailnet IP %q accepted", ip)
			}
		}
		for name, s := range st.Services {
			if len(name) > 256 || len(s.ActiveTier) > 256 || len(s.FailoverReason) > 4096 {
				t.Errorf("unbounded service %.50q accepted", name)
			}
			for _, b := range s.Backends {
				if b.Active < 0 || b.Total < 0 || b.Failed < 0 {
					t.Errorf("negative counter accepted: %+v", b)
				}
			}
		}
		// What the operator accepts, it accepts again after a round trip.
		again, err := json.Marshal(st)
		if err != nil {
			t.Fatalf("marshalling an accepted report: %v", err)
		}
		if _, err := pool.ParseStatus(again); err != nil {
			t.Errorf("an accepted report, written again, is refused: %v\n%s", err, again)
		}
	})
}

func TestParseStatusNamesTheField(t *testing.T) {
	for raw, want := range map[string]string{
		`{"fqdn": "` + strings.Repeat("a", 300) + `"}`:                                     "fqdn: 300 bytes",
		`{"tailnetIPs": ["100.64.0.1", "nope"]}`:                                           `tailnetIPs[1]: "nope"`,
		`{"services": {"svc:web:80": {"backends": [{}, {"failed": -2}]}}}`:                 `services["svc:web:80"].backends[1].failed: -2`,
		`{"services": {"svc:web:80": {"activeTier": "` + strings.Repeat("t", 300) + `"}}}`: `services["svc:web:80"].activeTier`,
		`{"ready": "yes"}`: "ready",
		`not json`:         "not a report",
		`{"deviceID": "` + strings.Repeat("n", pool.MaxReport) + `"}`: "more than 262144",
	} {
		_, err := pool.ParseStatus([]byte(raw))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseStatus(%.60s…) = %v, want an error with %q", raw, err, want)
		}
	}
	if st, err := pool.ParseStatus(mustJSON(t, sampleReport())); err != nil || st.DeviceID != "nTEST1CNTRL" {
		t.Errorf("a report as tsgw-proxy writes it: %+v, %v", st, err)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

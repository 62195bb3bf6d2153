package planner_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/tailscale-gateway/tailscale-gateway/internal/planner"
	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
)

// reportSlack is what a status may copy from one machine's report beyond
// what it holds without reports: the active tier and failover reason (as
// pool.ParseStatus bounds them), times, and a count per known group.
const reportSlack = 8 << 10

// FuzzStatusReport: a machine's report is written by its pod. Whatever
// the operator's decoder (pool.ParseStatus) accepts, the status computed
// from it does not panic and grows by at most reportSlack: nothing a
// report names (services, groups, backends) makes the status larger.
func FuzzStatusReport(f *testing.F) {
	o := failoverInput(f)
	for _, st := range o.Reports {
		raw, _ := json.Marshal(st)
		f.Add(raw)
	}
	var groups []string
	for i := range 1000 {
		groups = append(groups, fmt.Sprintf(`{"name": "g%d/m", "group": "g%d", "address": "a", "total": 1}`, i, i))
	}
	f.Add([]byte(`{"ready": true, "services": {"svc:api:443": {"activeTier": "primary", "backends": [` + strings.Join(groups, ",") + `]}}}`))
	f.Add([]byte(`{"services": {"svc:api:443": {"backends": [{"name": "web-east/x", "group": "web-east", "total": 9223372036854775807}]}}}`))
	f.Add([]byte(`{"services": {"svc:other:443": {"activeTier": "other"}}}`))
	without := o
	without.Reports = nil
	base, _ := json.Marshal(planner.Status(without))
	f.Fuzz(func(t *testing.T, raw []byte) {
		st, err := pool.ParseStatus(raw)
		if err != nil {
			return
		}
		o := o // Status reads o; only the reports change
		o.Reports = maps.Clone(o.Reports)
		o.Reports["web-east-0"] = st
		got, _ := json.Marshal(planner.Status(o))
		if len(got) > len(base)+reportSlack {
			t.Errorf("a report of %d bytes made the status %d bytes, from %d without reports:\n%.1000s", len(raw), len(got), len(base), got)
		}
	})
}

// failoverInput is the Observed of testdata/failover-with-external.in.yaml.
func failoverInput(t testing.TB) planner.Observed {
	t.Helper()
	raw, err := os.ReadFile("testdata/failover-with-external.in.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var in input
	if err := yaml.UnmarshalStrict(raw, &in); err != nil {
		t.Fatal(err)
	}
	return in.Observed
}

package podmode

import (
	"testing"
	"time"

	"github.com/tailscale-gateway/tailscale-gateway/internal/proxy"
	"github.com/tailscale-gateway/tailscale-gateway/internal/proxyconfig"
)

func sampleStats(healthy bool, total int64) []proxy.ServiceStats {
	return []proxy.ServiceStats{{
		Name: "svc:web:80", Strategy: proxyconfig.StrategyFailover, ActiveTier: proxyconfig.TierPrimary,
		Backends: []proxy.BackendStats{
			{Name: "web-east/web-east-0", Group: "web-east", Address: "100.64.0.1:80", Healthy: healthy, Total: total},
		},
	}}
}

func sampleReport(now time.Time, healthy bool, total int64) reportInput {
	return reportInput{
		Node:  nodeInfo{DeviceID: "n1", Hostname: "web-0", FQDN: "web-0.tail.ts.net", IPs: []string{"100.64.0.9"}},
		Ready: true, Generation: "42", Stats: sampleStats(healthy, total), Now: now,
		Failovers: map[string]failover{"svc:web:80": {
			At: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Reason: "primary-endpoints-recovered",
		}},
	}
}

func TestBuildReport(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	st := buildReport(sampleReport(now, true, 7))
	svc := st.Services["svc:web:80"]
	if st.DeviceID != "n1" || !st.Ready || st.ConfigGeneration != "42" || !st.Updated.Equal(now.Truncate(time.Second)) {
		t.Fatalf("report = %+v", st)
	}
	if svc.ActiveTier != "primary" || svc.FailoverReason != "primary-endpoints-recovered" || svc.LastFailover == nil {
		t.Fatalf("service report = %+v", svc)
	}
	if b := svc.Backends[0]; b.Name != "web-east/web-east-0" || b.Group != "web-east" || !b.Healthy || b.Total != 7 {
		t.Fatalf("backend report = %+v", b)
	}
}

func TestWritePolicy(t *testing.T) {
	p := writePolicy{CounterInterval: 30 * time.Second, Heartbeat: 5 * time.Minute}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	last := buildReport(sampleReport(t0, true, 1))
	for _, tc := range []struct {
		name string
		next reportInput
		want bool
	}{
		{"nothing changed, later", sampleReport(t0.Add(time.Minute), true, 1), false},
		{"counters changed too soon", sampleReport(t0.Add(time.Second), true, 2), false},
		{"counters changed after the interval", sampleReport(t0.Add(30*time.Second), true, 2), true},
		{"nothing changed, heartbeat due", sampleReport(t0.Add(5*time.Minute), true, 1), true},
		{"health changed at once", sampleReport(t0.Add(time.Second), false, 1), true},
	} {
		if got := p.shouldWrite(&last, t0, buildReport(tc.next), tc.next.Now); got != tc.want {
			t.Errorf("%s: shouldWrite = %v; want %v", tc.name, got, tc.want)
		}
	}
	if !p.shouldWrite(nil, time.Time{}, last, t0) {
		t.Error("the first report is not written")
	}
	notReady := sampleReport(t0.Add(time.Second), true, 1)
	notReady.Ready = false
	if !p.shouldWrite(&last, t0, buildReport(notReady), notReady.Now) {
		t.Error("readiness change not written at once")
	}
}

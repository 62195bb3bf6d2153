package lab

import (
	"slices"
	"testing"

	"tailscale.com/tailcfg"
	"tailscale.com/tstest/integration/testcontrol"
)

// TestControlDNSReplacesRecords: records can be taken away, not only
// added, and the rest of control's DNS configuration is kept.
func TestControlDNSReplacesRecords(t *testing.T) {
	control := &testcontrol.Server{DNSConfig: &tailcfg.DNSConfig{Proxied: true}}
	dns, err := newControlDNS(control)
	if err != nil {
		t.Fatal(err)
	}
	web := tailcfg.DNSRecord{Name: "web.lab.ts.net", Value: "100.100.0.1"}
	api := tailcfg.DNSRecord{Name: "api.lab.ts.net", Value: "100.100.0.2"}
	dns.set([]tailcfg.DNSRecord{web, api})
	if got := dns.records(); !slices.Equal(got, []tailcfg.DNSRecord{web, api}) {
		t.Fatalf("records %v", got)
	}
	dns.set([]tailcfg.DNSRecord{api})
	if got := dns.records(); !slices.Equal(got, []tailcfg.DNSRecord{api}) {
		t.Fatalf("after deleting web: records %v", got)
	}
	if !control.DNSConfig.Proxied {
		t.Fatal("MagicDNS was switched off")
	}
}

package tsapi_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tailscale-gateway/tailscale-gateway/internal/apiemulator"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tsapi"
)

func TestDevicesAndMagicDNSDomain(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.client.MagicDNSDomain(ctx); !errors.Is(err, tsapi.ErrDomainUnknown) {
		t.Fatalf("domain without devices: err = %v, want ErrDomainUnknown", err)
	}
	lastSeen := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	e.emu.AddDevice(apiemulator.Device{
		ID: "1001", NodeID: "nWEB0CNTRL", Name: "web-0." + testDomain, Hostname: "web-0",
		Addresses: []string{"100.64.0.1", "fd7a:115c:a1e0::1"}, Tags: []string{"tag:web"},
		Authorized: true, LastSeen: lastSeen,
	})
	devices, err := e.client.ListDevices(ctx)
	if err != nil || len(devices) != 1 {
		t.Fatalf("list = %+v, %v", devices, err)
	}
	d := devices[0]
	if d.NodeID != "nWEB0CNTRL" || d.Hostname != "web-0" || len(d.Addresses) != 2 || d.Tags[0] != "tag:web" || !d.LastSeen.Equal(lastSeen) {
		t.Errorf("device = %+v", d)
	}
	if got, err := e.client.GetDevice(ctx, "1001"); err != nil || got.NodeID != "nWEB0CNTRL" {
		t.Errorf("get by legacy ID = %+v, %v", got, err)
	}
	if domain, err := e.client.MagicDNSDomain(ctx); err != nil || domain != testDomain {
		t.Errorf("domain = %q, %v; want %q", domain, err, testDomain)
	}
	if err := e.client.DeleteDevice(ctx, "nWEB0CNTRL"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.GetDevice(ctx, "nWEB0CNTRL"); !tsapi.IsNotFound(err) {
		t.Errorf("get after delete: err = %v, want not found", err)
	}
}

func TestDomainFromDevices(t *testing.T) {
	tests := []struct {
		name  string
		names []string
		want  string
	}{
		{"none", nil, ""},
		{"bare hostnames", []string{"web"}, ""},
		{"one", []string{"web-0.tail1234.ts.net"}, "tail1234.ts.net"},
		{"trailing dot", []string{"web-0.tail1234.ts.net."}, "tail1234.ts.net"},
		{"shared device outvoted", []string{"a.tail1234.ts.net", "b.tail1234.ts.net", "hello.ts.net"}, "tail1234.ts.net"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var devices []tsapi.Device
			for _, n := range tt.names {
				devices = append(devices, tsapi.Device{Name: n})
			}
			if got := tsapi.DomainFromDevices(devices); got != tt.want {
				t.Errorf("DomainFromDevices = %q, want %q", got, tt.want)
			}
		})
	}
}

package lab

import (
	"net/netip"
	"reflect"
	"testing"

	"tailscale.com/tailcfg"
)

func TestChoosePrimaries(t *testing.T) {
	demo := VIPService{Name: "svc:demo", Addrs: addrs("100.100.0.1", "fd7a:115c:a1e0::1")}
	web := VIPService{Name: "svc:web", Addrs: addrs("100.100.0.2")}
	approvers := map[string][]string{"svc:demo": {"tag:demo"}, "svc:web": {"tag:web", "tag:demo"}}
	host := func(id string, online bool, tags []string, advertised ...string) hostState {
		return hostState{ID: tailcfg.StableNodeID(id), Online: online, Tags: tags, Advertised: advertised}
	}
	tests := []struct {
		name     string
		services []VIPService
		hosts    []hostState
		previous map[string]tailcfg.StableNodeID
		want     map[string]tailcfg.StableNodeID
	}{{
		name:     "approved advertising host is primary",
		services: []VIPService{demo},
		hosts:    []hostState{host("n1", true, []string{"tag:demo"}, "svc:demo")},
		want:     map[string]tailcfg.StableNodeID{"svc:demo": "n1"},
	}, {
		name:     "lowest stable ID wins among eligible hosts",
		services: []VIPService{demo},
		hosts: []hostState{
			host("n2", true, []string{"tag:demo"}, "svc:demo"),
			host("n1", true, []string{"tag:demo"}, "svc:demo"),
		},
		want: map[string]tailcfg.StableNodeID{"svc:demo": "n1"},
	}, {
		name:     "previous primary keeps the service while eligible",
		services: []VIPService{demo},
		hosts: []hostState{
			host("n1", true, []string{"tag:demo"}, "svc:demo"),
			host("n2", true, []string{"tag:demo"}, "svc:demo"),
		},
		previous: map[string]tailcfg.StableNodeID{"svc:demo": "n2"},
		want:     map[string]tailcfg.StableNodeID{"svc:demo": "n2"},
	}, {
		name:     "offline previous primary hands over",
		services: []VIPService{demo},
		hosts: []hostState{
			host("n1", true, []string{"tag:demo"}, "svc:demo"),
			host("n2", false, []string{"tag:demo"}, "svc:demo"),
		},
		previous: map[string]tailcfg.StableNodeID{"svc:demo": "n2"},
		want:     map[string]tailcfg.StableNodeID{"svc:demo": "n1"},
	}, {
		name:     "previous primary that stopped advertising hands over",
		services: []VIPService{demo},
		hosts: []hostState{
			host("n1", true, []string{"tag:demo"}, "svc:demo"),
			host("n2", true, []string{"tag:demo"}),
		},
		previous: map[string]tailcfg.StableNodeID{"svc:demo": "n2"},
		want:     map[string]tailcfg.StableNodeID{"svc:demo": "n1"},
	}, {
		name:     "unapproved tag gets nothing",
		services: []VIPService{demo},
		hosts:    []hostState{host("n1", true, []string{"tag:other"}, "svc:demo")},
		want:     map[string]tailcfg.StableNodeID{},
	}, {
		name:     "untagged host gets nothing",
		services: []VIPService{demo},
		hosts:    []hostState{host("n1", true, nil, "svc:demo")},
		want:     map[string]tailcfg.StableNodeID{},
	}, {
		name:     "approved but not advertising gets nothing",
		services: []VIPService{demo},
		hosts:    []hostState{host("n1", true, []string{"tag:demo"}, "svc:web")},
		want:     map[string]tailcfg.StableNodeID{},
	}, {
		name:     "advertised service that does not exist is ignored",
		services: nil,
		hosts:    []hostState{host("n1", true, []string{"tag:demo"}, "svc:demo")},
		want:     map[string]tailcfg.StableNodeID{},
	}, {
		name:     "service without addresses is not routed",
		services: []VIPService{{Name: "svc:demo"}},
		hosts:    []hostState{host("n1", true, []string{"tag:demo"}, "svc:demo")},
		want:     map[string]tailcfg.StableNodeID{},
	}, {
		name:     "services are chosen independently",
		services: []VIPService{demo, web},
		hosts: []hostState{
			host("n1", true, []string{"tag:web"}, "svc:demo", "svc:web"),
			host("n2", true, []string{"tag:demo"}, "svc:demo", "svc:web"),
		},
		previous: map[string]tailcfg.StableNodeID{"svc:web": "n2"},
		want:     map[string]tailcfg.StableNodeID{"svc:demo": "n2", "svc:web": "n2"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := choosePrimaries(tt.services, tt.hosts, approvers, tt.previous)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("choosePrimaries = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestHostConfigs(t *testing.T) {
	demo := VIPService{Name: "svc:demo", Addrs: addrs("fd7a:115c:a1e0::1", "100.100.0.1")}
	web := VIPService{Name: "svc:web", Addrs: addrs("100.100.0.2")}
	got := hostConfigs([]VIPService{demo, web}, map[string]tailcfg.StableNodeID{"svc:demo": "n1", "svc:web": "n1"})
	want := map[tailcfg.StableNodeID]hostConfig{"n1": {
		Services: tailcfg.ServiceIPMappings{
			"svc:demo": addrs("100.100.0.1", "fd7a:115c:a1e0::1"),
			"svc:web":  addrs("100.100.0.2"),
		},
		Routes: prefixes("100.100.0.1/32", "100.100.0.2/32", "fd7a:115c:a1e0::1/128"),
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("hostConfigs = %+v, want %+v", got, want)
	}
	if !got["n1"].equal(want["n1"]) || got["n1"].equal(hostConfig{}) {
		t.Error("hostConfig.equal disagrees with DeepEqual")
	}
}

func TestServiceDNSRecords(t *testing.T) {
	svc := VIPService{Name: "svc:demo", Addrs: addrs("100.100.0.1", "fd7a:115c:a1e0::1")}
	got := serviceDNSRecords([]VIPService{svc}, "lab.ts.net")
	// IPv4 last: tsnet's dialer resolves a name to its last record.
	want := []tailcfg.DNSRecord{
		{Name: "demo.lab.ts.net", Value: "fd7a:115c:a1e0::1"},
		{Name: "demo.lab.ts.net", Value: "100.100.0.1"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("serviceDNSRecords = %v, want %v", got, want)
	}
}

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

func prefixes(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

package lab

import (
	"cmp"
	"net/netip"
	"slices"

	"tailscale.com/tailcfg"
)

// VIPService is a VIP service as the router needs it: its name
// ("svc:demo") and its virtual addresses (one IPv4, one IPv6).
type VIPService struct {
	Name  string
	Addrs []netip.Addr
}

// hostState is what the router knows about one node when it picks hosts.
type hostState struct {
	ID         tailcfg.StableNodeID
	Tags       []string
	Online     bool
	Advertised []string // names of the VIP services the node advertises
}

// choosePrimaries picks, for every VIP service, the one node that hosts it:
// a node that is online, advertises the service, and carries a tag the
// policy's autoApprovers.services lists for it. The previous primary keeps
// the service while it stays eligible, so adding hosts never moves traffic;
// otherwise the eligible node with the lowest stable ID (the oldest in the
// lab) takes over. Services nobody may host are absent from the result.
func choosePrimaries(services []VIPService, hosts []hostState,
	approvers map[string][]string, previous map[string]tailcfg.StableNodeID,
) map[string]tailcfg.StableNodeID {
	primaries := map[string]tailcfg.StableNodeID{}
	for _, svc := range services {
		if len(svc.Addrs) == 0 {
			continue // nothing to route
		}
		eligible := eligibleHosts(svc.Name, hosts, approvers[svc.Name])
		if len(eligible) == 0 {
			continue
		}
		if prev, ok := previous[svc.Name]; ok && slices.Contains(eligible, prev) {
			primaries[svc.Name] = prev
			continue
		}
		primaries[svc.Name] = slices.Min(eligible)
	}
	return primaries
}

func eligibleHosts(service string, hosts []hostState, approvedTags []string) []tailcfg.StableNodeID {
	var ids []tailcfg.StableNodeID
	for _, h := range hosts {
		if h.Online && slices.Contains(h.Advertised, service) && sharesTag(h.Tags, approvedTags) {
			ids = append(ids, h.ID)
		}
	}
	return ids
}

func sharesTag(tags, approved []string) bool {
	return slices.ContainsFunc(tags, func(t string) bool { return slices.Contains(approved, t) })
}

// hostConfig is what control tells one node so that it hosts its VIP
// services: the service-host capability's name → addresses mapping, and
// the VIP addresses as routes so that peers send it the traffic.
type hostConfig struct {
	Services tailcfg.ServiceIPMappings
	Routes   []netip.Prefix
}

// hostConfigs turns the primary choice into per-node configuration.
func hostConfigs(services []VIPService, primaries map[string]tailcfg.StableNodeID) map[tailcfg.StableNodeID]hostConfig {
	configs := map[tailcfg.StableNodeID]hostConfig{}
	for _, svc := range services {
		host, ok := primaries[svc.Name]
		if !ok {
			continue
		}
		cfg := configs[host]
		if cfg.Services == nil {
			cfg.Services = tailcfg.ServiceIPMappings{}
		}
		cfg.Services[tailcfg.ServiceName(svc.Name)] = sortedAddrs(svc.Addrs)
		for _, a := range svc.Addrs {
			cfg.Routes = append(cfg.Routes, netip.PrefixFrom(a, a.BitLen()))
		}
		configs[host] = cfg
	}
	for id, cfg := range configs {
		slices.SortFunc(cfg.Routes, netip.Prefix.Compare)
		configs[id] = cfg
	}
	return configs
}

func sortedAddrs(addrs []netip.Addr) []netip.Addr {
	s := slices.Clone(addrs)
	slices.SortFunc(s, netip.Addr.Compare)
	return s
}

func (c hostConfig) equal(o hostConfig) bool {
	if !slices.Equal(c.Routes, o.Routes) || len(c.Services) != len(o.Services) {
		return false
	}
	for name, addrs := range c.Services {
		if !slices.Equal(addrs, o.Services[name]) {
			return false
		}
	}
	return true
}

// serviceDNSRecords returns the MagicDNS records of the services:
// "<name without svc:>.<domain>" → each address. IPv6 records come first
// because tsnet's dialer keeps the last record of a name, and the IPv4
// address is the one every client can use.
func serviceDNSRecords(services []VIPService, domain string) []tailcfg.DNSRecord {
	var records []tailcfg.DNSRecord
	for _, svc := range services {
		fqdn := tailcfg.ServiceName(svc.Name).WithoutPrefix() + "." + domain
		addrs := slices.Clone(svc.Addrs)
		slices.SortStableFunc(addrs, func(a, b netip.Addr) int { return cmp.Compare(b.BitLen(), a.BitLen()) })
		for _, a := range addrs {
			records = append(records, tailcfg.DNSRecord{Name: fqdn, Value: a.String()})
		}
	}
	return records
}

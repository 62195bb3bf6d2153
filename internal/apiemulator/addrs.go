package apiemulator

import (
	"fmt"
	"hash/fnv"
	"net/netip"
)

// VIP service addresses: IPv4 from 100.100.0.0/16 (inside the CGNAT range
// 100.64.0.0/10, away from the 100.64.x.y addresses nodes usually get) and
// IPv6 from the Tailscale ULA, with the IPv4 embedded so the pair is unique.
var (
	vipV4Pool   = netip.MustParsePrefix("100.100.0.0/16")
	cgnatRange  = netip.MustParsePrefix("100.64.0.0/10")
	tailscaleV6 = netip.MustParsePrefix("fd7a:115c:a1e0::/48")
	quad100     = netip.MustParseAddr("100.100.100.100") // Tailscale's DNS resolver
)

// allocateAddrsLocked gives name the addresses it had before if they are
// free, else a pair derived from a hash of the name, probing past taken ones.
func (s *Server) allocateAddrsLocked(name string) []string {
	taken := s.takenV4Locked(name)
	if prev, ok := s.addrsByName[name]; ok && len(prev) > 0 && !taken[prev[0]] {
		return prev
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(name))
	start := h.Sum32() % (1 << 16)
	for i := range uint32(1 << 16) {
		v4 := poolAddr((start + i) % (1 << 16))
		if usableV4(v4) && !taken[v4.String()] {
			return []string{v4.String(), embedV4(v4).String()}
		}
	}
	panic("apiemulator: VIP address pool exhausted")
}

// takenV4Locked returns the IPv4 addresses held by other names, including
// deleted ones, so a re-created service can get its addresses back.
func (s *Server) takenV4Locked(except string) map[string]bool {
	taken := map[string]bool{}
	for name, addrs := range s.addrsByName {
		if name != except && len(addrs) > 0 {
			taken[addrs[0]] = true
		}
	}
	return taken
}

func (s *Server) checkRequestedAddrsLocked(name string, addrs []string) error {
	taken := s.takenV4Locked(name)
	var v4s, v6s int
	for _, a := range addrs {
		ip, err := netip.ParseAddr(a)
		switch {
		case err != nil:
			return fmt.Errorf("invalid address %q", a)
		case ip.Is4() && cgnatRange.Contains(ip):
			v4s++
			if taken[a] {
				return fmt.Errorf("address %s is already in use", a)
			}
		case ip.Is6() && tailscaleV6.Contains(ip):
			v6s++
		default:
			return fmt.Errorf("address %s is outside the tailnet's ranges", a)
		}
	}
	if v4s > 1 || v6s > 1 {
		return fmt.Errorf("at most one IPv4 and one IPv6 address may be given")
	}
	return nil
}

func poolAddr(offset uint32) netip.Addr {
	b := vipV4Pool.Addr().As4()
	return netip.AddrFrom4([4]byte{b[0], b[1], byte(offset >> 8), byte(offset)})
}

func usableV4(a netip.Addr) bool {
	last := a.As4()[3]
	return a != quad100 && last != 0 && last != 255
}

func embedV4(v4 netip.Addr) netip.Addr {
	b := tailscaleV6.Addr().As16()
	four := v4.As4()
	copy(b[12:], four[:])
	return netip.AddrFrom16(b)
}

package lab

import (
	"errors"
	"net/netip"
	"time"

	"github.com/tailscale-gateway/tailscale-gateway/internal/apiemulator"
)

// UseEmulator binds the lab to the Tailscale API emulator: the lab routes
// its VIP services under its policy, and NewNode admits only its auth
// keys. Create the emulator with the lab as its Tailnet first:
//
//	emu := apiemulator.New(apiemulator.Options{Tailnet: l, TailnetDomain: l.Domain(), ...})
//	l.UseEmulator(emu)
func (l *Lab) UseEmulator(emu *apiemulator.Server) {
	l.SetAuthKeys(FromEmulatorKeys(emu))
	l.RouteServices(FromEmulator(emu))
}

// FromEmulator routes the VIP services and policy of the Tailscale API
// emulator: l.RouteServices(lab.FromEmulator(emu)).
func FromEmulator(emu *apiemulator.Server) ServiceSource { return emulatorSource{emu} }

type emulatorSource struct{ emu *apiemulator.Server }

func (s emulatorSource) Services() []VIPService {
	var out []VIPService
	for _, svc := range s.emu.VIPServices() {
		out = append(out, VIPService{Name: svc.Name, Addrs: parseAddrs(svc.Addrs)})
	}
	return out
}

// parseAddrs keeps the valid addresses; the emulator only stores valid ones.
func parseAddrs(addrs []string) []netip.Addr {
	var out []netip.Addr
	for _, a := range addrs {
		if ip, err := netip.ParseAddr(a); err == nil {
			out = append(out, ip)
		}
	}
	return out
}

func (s emulatorSource) ServiceApprovers() map[string][]string {
	return s.emu.AutoApprovedServiceTags()
}

// Subscribe uses the emulator's Subscribe, not Changes, whose single
// reader belongs to whoever else watches the emulator.
func (s emulatorSource) Subscribe() (<-chan struct{}, func()) { return s.emu.Subscribe() }

// FromEmulatorKeys admits nodes with the emulator's auth keys (Options.AuthKeys).
func FromEmulatorKeys(emu *apiemulator.Server) AuthKeys { return emulatorKeys{emu} }

type emulatorKeys struct{ emu *apiemulator.Server }

var errKeyRefused = errors.New("unknown, expired, revoked or already used auth key")

// Admit checks then consumes the key. The two steps are not atomic, so
// two nodes racing with one single-use key may both be admitted.
func (k emulatorKeys) Admit(key string) ([]string, error) {
	info, ok := k.emu.AuthKey(key)
	if !ok || !info.Valid(time.Now()) {
		return nil, errKeyRefused
	}
	k.emu.MarkAuthKeyUsed(key)
	return info.Tags, nil
}

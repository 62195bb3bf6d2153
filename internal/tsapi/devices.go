package tsapi

import (
	"context"
	"slices"
	"strings"

	tailscale "tailscale.com/client/tailscale/v2"
)

func (c *apiClient) ListDevices(ctx context.Context) ([]Device, error) {
	list, err := c.v2.Devices().List(ctx)
	if err != nil {
		return nil, wrapErr("list devices", err)
	}
	out := make([]Device, 0, len(list))
	for _, d := range list {
		out = append(out, fromV2Device(d))
	}
	return out, nil
}

func (c *apiClient) GetDevice(ctx context.Context, id string) (Device, error) {
	d, err := c.v2.Devices().Get(ctx, id)
	if err != nil {
		return Device{}, wrapErr("get device "+id, err)
	}
	return fromV2Device(*d), nil
}

func (c *apiClient) DeleteDevice(ctx context.Context, id string) error {
	err := wrapErr("delete device "+id, c.v2.Devices().Delete(ctx, id))
	if IsNotFound(err) {
		return nil
	}
	return err
}

// MagicDNSDomain reads the domain from device names: the public API has no
// tailnet-scoped field for it, but every device's name is
// "<host>.<MagicDNS domain>".
func (c *apiClient) MagicDNSDomain(ctx context.Context) (string, error) {
	devices, err := c.ListDevices(ctx)
	if err != nil {
		return "", err
	}
	if domain := DomainFromDevices(devices); domain != "" {
		return domain, nil
	}
	return "", ErrDomainUnknown
}

// DomainFromDevices returns the MagicDNS domain most device names end
// with (ties broken alphabetically), or "" if none has one. Shared
// (external) devices carry their own tailnet's domain, hence the vote.
func DomainFromDevices(devices []Device) string {
	votes := map[string]int{}
	for _, d := range devices {
		if _, domain, ok := strings.Cut(strings.TrimSuffix(d.Name, "."), "."); ok && strings.Contains(domain, ".") {
			votes[domain]++
		}
	}
	best := ""
	for domain, n := range votes {
		if n > votes[best] || (n == votes[best] && domain < best) {
			best = domain
		}
	}
	return best
}

func fromV2Device(d tailscale.Device) Device {
	out := Device{
		ID: d.ID, NodeID: d.NodeID, Name: d.Name, Hostname: d.Hostname,
		Addresses: slices.Clone(d.Addresses), Tags: slices.Clone(d.Tags),
		ConnectedToControl: d.ConnectedToControl, Authorized: d.Authorized,
		Created: d.Created.Time,
	}
	if d.LastSeen != nil {
		out.LastSeen = d.LastSeen.Time
	}
	return out
}

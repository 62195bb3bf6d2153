package lab

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"tailscale.com/tailcfg"
	"tailscale.com/tstest/integration/testcontrol"
	"tailscale.com/types/key"

	"github.com/tailscale-gateway/tailscale-gateway/internal/apiemulator"
)

// The Lab is the emulator's Tailnet: the devices the API shows are the
// lab's real nodes.
var _ apiemulator.Tailnet = (*Lab)(nil)

// Devices returns the lab's nodes in the public API's device shape,
// leaving out deleted ones.
func (l *Lab) Devices() []apiemulator.Device {
	var out []apiemulator.Device
	for _, n := range l.control.AllNodes() {
		if l.router.isDeleted(n.StableID) {
			continue
		}
		out = append(out, l.device(n))
	}
	return out
}

func (l *Lab) device(n *tailcfg.Node) apiemulator.Device {
	created, lastSeen := l.sessions.seen(n.Key)
	online := l.sessions.online(n.Key)
	d := apiemulator.Device{
		ID:                 strconv.FormatInt(int64(n.ID), 10),
		NodeID:             string(n.StableID),
		Name:               strings.TrimSuffix(n.Name, "."),
		Hostname:           n.Hostinfo.Hostname(),
		Tags:               slices.Clone(n.Tags),
		Authorized:         n.MachineAuthorized,
		KeyExpiryDisabled:  n.KeyExpiry.IsZero(),
		Expires:            n.KeyExpiry,
		ClientVersion:      n.Hostinfo.IPNVersion(),
		OS:                 n.Hostinfo.OS(),
		Created:            created,
		ConnectedToControl: online,
		MachineKey:         n.Machine.String(),
		NodeKey:            n.Key.String(),
	}
	if !online {
		d.LastSeen = lastSeen
	}
	for _, p := range n.Addresses {
		d.Addresses = append(d.Addresses, p.Addr().String())
	}
	for _, p := range l.router.enabledRoutes(n.Key) {
		d.AdvertisedRoutes = append(d.AdvertisedRoutes, p.String())
		d.EnabledRoutes = append(d.EnabledRoutes, p.String())
	}
	return d
}

// DeleteDevice removes a node, by its numeric ID or its stable node ID.
// testcontrol cannot forget a node, so the lab does what it can (forget):
// the node's key expires (peers stop talking to it and it must log in
// again, which an expired key cannot), its name and addresses go from its
// peers' netmaps with the next update (its MagicDNS name stops resolving,
// nothing routes to it), and the lab stops listing it and routing to it.
func (l *Lab) DeleteDevice(id string) error {
	for _, n := range l.control.AllNodes() {
		if strconv.FormatInt(int64(n.ID), 10) != id && string(n.StableID) != id {
			continue
		}
		if l.router.isDeleted(n.StableID) {
			break
		}
		l.router.markDeleted(n.StableID)
		forget(l.control, n.Key)
		return nil
	}
	return fmt.Errorf("lab: no device %q", id)
}

// forget expires a node's key and takes its name and addresses away.
// testcontrol offers no field-level update, so a map update racing with
// it may undo part of it; the router re-applies it (forgetDeleted), and
// its deleted mark holds either way.
func forget(control *testcontrol.Server, nk key.NodePublic) {
	n := control.Node(nk)
	if n == nil {
		return
	}
	n.KeyExpiry = time.Now().Add(-time.Minute)
	n.Name = ""
	n.Addresses, n.AllowedIPs = nil, nil
	control.UpdateNode(n)
}

// forgotten says whether forget's changes are all in place.
func forgotten(n *tailcfg.Node) bool {
	return n.Name == "" && len(n.Addresses) == 0 && len(n.AllowedIPs) == 0 &&
		!n.KeyExpiry.IsZero() && n.KeyExpiry.Before(time.Now())
}

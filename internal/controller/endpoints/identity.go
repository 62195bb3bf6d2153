package endpoints

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tsapi"
)

// A tailnet is shared with other clusters and teams, so the operator
// deletes a device or revokes a key only when the API confirms it is the
// one made for the replica. What it compares with is written by the
// operator alone, into the replica's auth key Secret (which the machine
// may only read): never the machine's own report, and never a bare name.
// docs/design-notes.md ("Device identity") says more.

// machineIdentity is what ties a device to one replica.
type machineIdentity struct {
	hostname string
	// tags of the replica's auth key, sorted and comma-separated: a
	// device joins with exactly its key's tags.
	tags string
	// keyCreated is when the API created the key (to the second): the
	// device cannot be older.
	keyCreated time.Time
}

// identityOf reads a replica's identity from its auth key Secret; ok is
// false when any part is missing, and then no device can be proven the
// replica's.
func identityOf(sec *corev1.Secret) (machineIdentity, bool) {
	if sec == nil {
		return machineIdentity{}, false
	}
	created, err := time.Parse(time.RFC3339, string(sec.Data[pool.AuthKeyCreatedKey]))
	id := machineIdentity{hostname: string(sec.Data[pool.HostnameKey]), tags: string(sec.Data[pool.AuthKeyTagsKey]), keyCreated: created}
	return id, err == nil && id.hostname != "" && id.tags != ""
}

// disown says why d is not the replica's device, or "" when it is.
func (id machineIdentity) disown(d tsapi.Device) string {
	switch {
	case d.Hostname != id.hostname:
		return fmt.Sprintf("its hostname is %q, not %q", d.Hostname, id.hostname)
	case joinTags(d.Tags) != id.tags:
		return fmt.Sprintf("its tags are [%s], not the replica's key's [%s]", joinTags(d.Tags), id.tags)
	case d.Created.IsZero():
		return "the API does not say when it was created"
	case d.Created.Before(id.keyCreated):
		return fmt.Sprintf("it was created at %s, before the replica's auth key (%s)",
			d.Created.UTC().Format(time.RFC3339), id.keyCreated.Format(time.RFC3339))
	}
	return ""
}

// ownDevices are the devices tied to the replica: usually one; more when
// a machine lost its state and joined again with a new key.
func (id machineIdentity) ownDevices(devices []tsapi.Device) []tsapi.Device {
	var out []tsapi.Device
	for _, d := range devices {
		if id.disown(d) == "" {
			out = append(out, d)
		}
	}
	return out
}

// pickDevice chooses the device to record for a replica among its own:
// the only one, or the one the machine reports when there are several.
// The report only chooses among devices already proven the replica's.
func pickDevice(own []tsapi.Device, reported string) (tsapi.Device, bool) {
	if len(own) == 1 {
		return own[0], true
	}
	for _, d := range own {
		if isDevice(d, reported) {
			return d, true
		}
	}
	return tsapi.Device{}, false
}

// isDevice reports whether id names d (by NodeID or legacy ID).
func isDevice(d tsapi.Device, id string) bool {
	return id != "" && (d.NodeID == id || d.ID == id)
}

// deviceRef is how the operator records and names a device.
func deviceRef(d tsapi.Device) string {
	if d.NodeID != "" {
		return d.NodeID
	}
	return d.ID
}

// disownKey says why k is not the key minted for the replica described
// by description and id, or "" when it is.
func disownKey(k tsapi.AuthKeyMeta, description string, id machineIdentity) string {
	switch {
	case k.Description != description:
		return fmt.Sprintf("its description is %q, not %q", k.Description, description)
	case joinTags(k.Tags) != id.tags:
		return fmt.Sprintf("its tags are [%s], not [%s]", joinTags(k.Tags), id.tags)
	case !k.Created.UTC().Truncate(time.Second).Equal(id.keyCreated):
		return fmt.Sprintf("it was created at %s, not %s", k.Created.UTC().Format(time.RFC3339), id.keyCreated.Format(time.RFC3339))
	}
	return ""
}

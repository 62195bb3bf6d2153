// Package coordination is how operators sharing one tailnet share a VIP
// service: a registry kept in an annotation of the service itself, naming
// its owner (the operator that created it) and its consumers, with the
// owner's consent to share it and each one's hosting devices. The package
// is pure: reading, merging and rendering the registry, deciding whether
// a TailscaleServices may use the service (Decide) and what a departure
// leaves (Depart); the services controller does the read-modify-write
// against the Tailscale API.
package coordination

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Annotation is the VIP service annotation that holds the registry.
const Annotation = "gateway.tailscale.com/service-registry"

// Refresh is how old an entry's lastSeen may get before its operator
// rewrites it; refreshing less often keeps steady state free of writes.
const Refresh = 10 * time.Minute

// Entry is one operator's use of the service.
type Entry struct {
	// OperatorID identifies the operator.
	OperatorID string `json:"operatorID"`
	// Object is the TailscaleServices using it, as namespace/name.
	Object string `json:"object"`
	// LastSeen is when the operator last confirmed its use.
	LastSeen time.Time `json:"lastSeen"`
	// Sharing is the TailscaleServices' consent to share the service
	// (spec.vipService.sharing.allow): while this entry owns the service,
	// others may join it only when it is true.
	Sharing bool `json:"sharing,omitempty"`
	// Devices are the device IDs of the operator's machines hosting the
	// service, sorted. The API cannot list a service's hosts, so this is
	// how a departing operator learns whether an entry that stopped being
	// refreshed still has machines serving it.
	Devices []string `json:"devices,omitempty"`
}

// Registry is who uses a VIP service.
type Registry struct {
	Owner     Entry   `json:"owner"`
	Consumers []Entry `json:"consumers,omitempty"`
}

// MaxAnnotation is the largest registry Parse reads. An entry takes about
// 150 bytes and each of its devices about 25, so this holds hundreds of
// operators' entries; anything larger was not written by one of them.
// Anyone with access to the tailnet's API can write the annotation, and
// what it says reaches the TailscaleServices' status (serviceInfo), which
// must stay small.
const MaxAnnotation = 64 << 10

// Parse reads the registry from a VIP service's annotations. ok is false
// when the service carries none: it was not made by any of our operators.
// An annotation that is not a registry, or larger than MaxAnnotation, is
// an error that names the annotation.
func Parse(annotations map[string]string) (reg Registry, ok bool, err error) {
	raw, found := annotations[Annotation]
	if !found {
		return Registry{}, false, nil
	}
	if len(raw) > MaxAnnotation {
		return Registry{}, false, fmt.Errorf("annotation %s is %d bytes, more than a registry ever takes (%d)", Annotation, len(raw), MaxAnnotation)
	}
	if err := json.Unmarshal([]byte(raw), &reg); err != nil {
		return Registry{}, false, fmt.Errorf("annotation %s is not a registry: %w", Annotation, err)
	}
	return reg, true, nil
}

// Render is the annotation value of a registry.
func (r Registry) Render() string {
	b, err := json.Marshal(r)
	if err != nil {
		panic(err) // only strings and times: cannot fail
	}
	return string(b)
}

// Owns reports whether the entry's operator and object own the service.
func (r Registry) Owns(e Entry) bool {
	return r.Owner.OperatorID == e.OperatorID && r.Owner.Object == e.Object
}

// ForOwner is the registry of a service the entry creates, or keeps owning:
// the owner's lastSeen is refreshed only when older than Refresh.
func ForOwner(current *Registry, me Entry, now time.Time) Registry {
	if current == nil || !current.Owns(me) {
		me.LastSeen = now.UTC().Truncate(time.Second)
		return Registry{Owner: me}
	}
	next := *current
	next.Owner = refresh(current.Owner, me, now)
	return next
}

// refresh is an entry as its operator confirms it: its lastSeen renewed
// only when older than Refresh, what it says about itself (consent,
// devices) updated only when that changed, so steady state writes nothing.
func refresh(current, me Entry, now time.Time) Entry {
	if now.Sub(current.LastSeen) >= Refresh {
		current.LastSeen = now.UTC().Truncate(time.Second)
	}
	current.Sharing = me.Sharing
	if !slices.Equal(current.Devices, me.Devices) {
		current.Devices = slices.Clone(me.Devices)
	}
	return current
}

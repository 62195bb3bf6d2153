// Package coordination is how operators sharing one tailnet share a VIP
// service: a registry kept in an annotation of the service itself, naming
// its owner (the operator that created it) and its consumers. The package
// is pure: reading, merging and rendering the registry; the services
// controller does the read-modify-write against the Tailscale API.
package coordination

import (
	"encoding/json"
	"fmt"
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
}

// Registry is who uses a VIP service.
type Registry struct {
	Owner     Entry   `json:"owner"`
	Consumers []Entry `json:"consumers,omitempty"`
}

// Parse reads the registry from a VIP service's annotations. ok is false
// when the service carries none: it was not made by any of our operators.
func Parse(annotations map[string]string) (reg Registry, ok bool, err error) {
	raw, found := annotations[Annotation]
	if !found {
		return Registry{}, false, nil
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
	next := expire(*current, now)
	if now.Sub(current.Owner.LastSeen) >= Refresh {
		next.Owner.LastSeen = now.UTC().Truncate(time.Second)
	}
	return next
}

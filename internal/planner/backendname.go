package planner

import "strings"

// A VIP service's backends are named after where they come from, and the
// status finds them by these names in the machines' reports:
// "<pool>/<member>" for a pool's (member: one of its machines, or one
// address of the host pool's own backend) and "external/<name>" for an
// external service. Pool names are Kubernetes names, without a slash.

const externalBackendPrefix = "external/"

// PoolBackendName names a pool's backend: one of its machines, or one
// address of its own backend.
func PoolBackendName(pool, member string) string { return pool + "/" + member }

// ExternalBackendName names an external service's backend.
func ExternalBackendName(service string) string { return externalBackendPrefix + service }

// backendName is a backend name taken apart.
type backendName struct {
	external bool
	// group is the pool or the external service.
	group string
	// member is the machine or address of a pool's backend; empty for an
	// external service.
	member string
}

// parseBackendName is the inverse of PoolBackendName and
// ExternalBackendName. Nothing needs to parse names yet (the status builds
// the names it looks for); the round trip in its test is what shows that
// the names are unambiguous. ok is false for a name neither builds.
func parseBackendName(name string) (b backendName, ok bool) {
	if service, ok := strings.CutPrefix(name, externalBackendPrefix); ok {
		return backendName{external: true, group: service}, service != ""
	}
	pool, member, ok := strings.Cut(name, "/")
	return backendName{group: pool, member: member}, ok && pool != "" && member != ""
}

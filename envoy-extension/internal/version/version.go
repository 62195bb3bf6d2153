// Package version is what this build of the Envoy Gateway extension is: the
// release (the repository's VERSION file) and the commit it was built from,
// both set at link time by `make build-envoy-extension` and `make images`:
//
//	-ldflags "-X github.com/tailscale-gateway/tailscale-gateway/envoy-extension/internal/version.Version=0.1.0
//	          -X github.com/tailscale-gateway/tailscale-gateway/envoy-extension/internal/version.Commit=<sha>"
//
// `go run` and `go test` leave the defaults, so a binary never claims a
// release it was not built as.
//
// It mirrors the root module's internal/version (same variable names, same
// output): this module does not require the root module, and Go's internal
// rule would not let it import that package if it did.
package version

import (
	"fmt"
	"runtime"
)

// Set with -ldflags -X; variables, not constants, so the linker can.
var (
	// Version is the release, from the VERSION file.
	Version = "dev"
	// Commit is the git commit the binary was built from.
	Commit = "unknown"
)

// String is what --version prints: release, commit and the Go toolchain
// that built the binary (a security fix in Go means a rebuild).
func String() string {
	return fmt.Sprintf("%s (commit %s, %s)", Version, Commit, runtime.Version())
}

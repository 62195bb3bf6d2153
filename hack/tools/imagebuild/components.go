package main

// component is one image: a Go main package and what its image is called.
type component struct {
	// name is the image's name (ghcr.io/tailscale-gateway/<name>) and the
	// name of its layout under the output directory.
	name string
	// module is the directory of the Go module, relative to the repository.
	module string
	// pkg is the main package, relative to module.
	pkg string
	// binary is the executable's name in the image, under /usr/local/bin.
	binary string
	// versionPkg is the import path of the package whose Version and
	// Commit the linker sets.
	versionPkg  string
	description string
}

const rootModule = "github.com/tailscale-gateway/tailscale-gateway"

// components are the images `make images` builds, in digests.txt order.
var components = []component{
	{
		name: "operator", module: ".", pkg: "./cmd/operator", binary: "tsgw-operator",
		versionPkg:  rootModule + "/internal/version",
		description: "Tailscale Gateway operator: controllers of TailscaleTailnet, TailscaleEndpoints and TailscaleServices",
	},
	{
		name: "tsgw-proxy", module: ".", pkg: "./cmd/proxy", binary: "tsgw-proxy",
		versionPkg:  rootModule + "/internal/version",
		description: "Tailscale Gateway data plane: a pool's tailnet node that load-balances VIP service connections",
	},
	{
		name: "envoy-extension", module: "envoy-extension", pkg: ".", binary: "envoy-extension",
		versionPkg:  rootModule + "/envoy-extension/internal/version",
		description: "Tailscale Gateway's Envoy Gateway extension server: TailscaleServices as HTTPRoute backends",
	},
}

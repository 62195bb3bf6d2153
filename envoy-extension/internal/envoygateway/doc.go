// Package envoygateway holds the integration test of the extension with the
// real Envoy Gateway control plane: an HTTPRoute in a real kube-apiserver
// (envtest), Envoy Gateway v1.9.1 as a subprocess (built by
// hack/envoy-gateway-binary.sh), this module's extension server in process,
// and the xDS Envoy Gateway serves, read over ADS as an Envoy would. Envoy
// itself is not run: none can be had offline, so the proof ends at xDS.
//
// The package has only tests; this file is where its purpose is written down.
package envoygateway

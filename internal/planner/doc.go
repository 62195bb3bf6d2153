// Package planner is the decision-making core of the operator, without I/O:
// from a TailscaleServices, the pools it selects (with their machines and
// resolved backends) and what the machines report, it computes the desired
// VIP service, each pool's proxy configuration and the status. Reconcilers
// read the cluster and the tailnet, call the planner, and apply its result.
//
// It is tested the way Envoy Gateway tests its translator: testdata/*.in.yaml
// inputs, testdata/*.out.yaml golden outputs (go test -update rewrites them).
package planner

// Package podrunner plays kubelet and StatefulSet controller for the lab.
//
// envtest runs a real kube-apiserver but no kubelet and no controllers, so
// a StatefulSet the operator creates would never get pods. The runner
// watches StatefulSets and runs one local process per replica: the
// configured binary with the container's args, the pod's environment
// (downward-API values resolved) and a kubeconfig of its own that
// impersonates the pod's ServiceAccount, so that RBAC is enforced exactly
// as in a cluster. It follows spec.replicas (the highest ordinals stop
// first), restarts crashed processes with backoff, and reports what runs as
// Pod objects and StatefulSet status (ready = the process's /readyz answers
// 200), so kubectl and the operator see the same thing a cluster would show.
//
// The runner is deliberately simple: one container per pod, no volumes, no
// probes other than readiness, no rolling-update ordering (a replica whose
// command or environment changed is restarted in place).
package podrunner

package endpoints

import (
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
)

// currentProfileKey is written by Tailscale's Kubernetes state store once
// the node has logged in; it proves a device even before the proxy's first
// report.
const currentProfileKey = "_current-profile"

// replica is what the pool's Secrets say about one machine.
type replica struct {
	ordinal int
	pod     string
	authKey *corev1.Secret // nil until minted
	state   *corev1.Secret // nil until created
}

// report is the machine's own report, if it wrote a readable one.
func (r *replica) report() (pool.MachineStatus, bool) {
	s, ok, err := r.readReport()
	return s, ok && err == nil
}

// readReport decodes the machine's report: ok is false while it has
// written none; err says what is wrong with one it cannot be (its state
// Secret is the machine's to write, so anything may be there).
func (r *replica) readReport() (s pool.MachineStatus, ok bool, err error) {
	if r == nil || r.state == nil || len(r.state.Data[pool.StatusKey]) == 0 {
		return s, false, nil
	}
	s, err = pool.ParseStatus(r.state.Data[pool.StatusKey])
	return s, true, err
}

// reportProblem says what is wrong with the machine's report, or "": one
// that cannot be read, or one that names a device other than the one the
// operator recorded for the machine (it is never acted upon; see
// identity.go).
func (r *replica) reportProblem() string {
	s, ok, err := r.readReport()
	switch {
	case !ok:
		return ""
	case err != nil:
		return fmt.Sprintf("the report of machine %s (Secret %s, key %s) is ignored: %v", r.pod, r.state.Name, pool.StatusKey, err)
	case s.DeviceID != "" && r.recordedDevice() != "" && s.DeviceID != r.recordedDevice():
		return fmt.Sprintf("machine %s reports device %s, not its own device %s: the report's device is ignored", r.pod, s.DeviceID, r.recordedDevice())
	}
	return ""
}

// reportedDevice is the device the machine says it is, or "". The
// machine writes its own report: this is a hint, never proof.
func (r *replica) reportedDevice() string {
	s, _ := r.report()
	return s.DeviceID
}

// recordedDevice is the machine's device as the operator found it in the
// API (see identity.go), or "".
func (r *replica) recordedDevice() string {
	if r == nil || r.authKey == nil {
		return ""
	}
	return string(r.authKey.Data[pool.DeviceIDKey])
}

// hostname is the machine's name in the tailnet, or "" before its key.
func (r *replica) hostname() string {
	if r == nil || r.authKey == nil {
		return ""
	}
	return string(r.authKey.Data[pool.HostnameKey])
}

// hasDevice reports whether the machine has joined the tailnet, so that
// a new auth key would only create a second device.
func (r *replica) hasDevice() bool {
	return r != nil && (r.recordedDevice() != "" || r.reportedDevice() != "" ||
		(r.state != nil && len(r.state.Data[currentProfileKey]) > 0))
}

// authKeyID is the ID of the machine's auth key, or "".
func (r *replica) authKeyID() string {
	if r == nil || r.authKey == nil {
		return ""
	}
	return string(r.authKey.Data[pool.AuthKeyIDKey])
}

// replicasFromSecrets groups a pool's Secrets by the ordinal in their
// names. Secrets whose names are not a replica's are ignored.
func replicasFromSecrets(ep *gatewayv1alpha1.TailscaleEndpoints, secrets []corev1.Secret) map[int]*replica {
	out := map[int]*replica{}
	for i := range secrets {
		s := &secrets[i]
		ordinal, isAuthKey, ok := parseSecretName(ep.Name, s.Name)
		if !ok {
			continue
		}
		r := out[ordinal]
		if r == nil {
			r = &replica{ordinal: ordinal, pod: pool.PodName(ep.Name, ordinal)}
			out[ordinal] = r
		}
		if isAuthKey {
			r.authKey = s
		} else {
			r.state = s
		}
	}
	return out
}

// parseSecretName reads the ordinal from "<pool>-<n>-authkey" or
// "<pool>-<n>-state".
func parseSecretName(poolName, name string) (ordinal int, isAuthKey, ok bool) {
	rest, ok := strings.CutPrefix(name, poolName+"-")
	if !ok {
		return 0, false, false
	}
	num, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false, false
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 || strconv.Itoa(n) != num {
		return 0, false, false
	}
	pod := pool.PodName(poolName, n)
	switch name {
	case pool.AuthKeySecretName(pod):
		return n, true, true
	case pool.StateSecretName(pod):
		return n, false, true
	}
	return 0, false, false
}

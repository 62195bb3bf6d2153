package endpoints

import (
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tsapi"
)

// machineName is who one replica of a pool is: its pod, and the name its
// machine has in the tailnet.
type machineName struct {
	ordinal  int
	pod      string
	hostname string
}

// nameMachine names the pool's replica with the given ordinal; operatorID
// makes its hostname unique among the clusters sharing the tailnet.
func nameMachine(operatorID string, ep *gatewayv1alpha1.TailscaleEndpoints, ordinal int) machineName {
	return machineName{
		ordinal:  ordinal,
		pod:      pool.PodName(ep.Name, ordinal),
		hostname: pool.MachineHostname(operatorID, ep.Namespace, ep.Name, ordinal),
	}
}

// authKeySecret holds the auth key minted once for one machine, the key's
// ID so that it can be revoked when the machine goes away, and what ties
// the machine's device to it (hostname, the key's tags and creation time).
// The device's ID is added once the operator has found it in the API.
func authKeySecret(ep *gatewayv1alpha1.TailscaleEndpoints, m machineName, key tsapi.AuthKey) *corev1.Secret {
	meta := objectMeta(ep, pool.AuthKeySecretName(m.pod))
	meta.Finalizers = []string{IdentityFinalizer}
	sec := &corev1.Secret{
		ObjectMeta: meta,
		Type:       corev1.SecretTypeOpaque,
		Data: map[string][]byte{
			pool.AuthKeyKey:     []byte(key.Key.Reveal()),
			pool.AuthKeyIDKey:   []byte(key.ID),
			pool.HostnameKey:    []byte(m.hostname),
			pool.AuthKeyTagsKey: []byte(joinTags(key.Tags)),
		},
	}
	if !key.Expires.IsZero() {
		sec.Data[pool.AuthKeyExpiresKey] = []byte(key.Expires.UTC().Format(time.RFC3339))
	}
	if !key.Created.IsZero() {
		// Seconds, rounded down: a device is never older than this.
		sec.Data[pool.AuthKeyCreatedKey] = []byte(key.Created.UTC().Format(time.RFC3339))
	}
	return sec
}

// keyExpiry reads when an auth key Secret's key expires; ok is false when
// the Secret does not say (written before the expiry was recorded).
func keyExpiry(sec *corev1.Secret) (expires time.Time, ok bool) {
	t, err := time.Parse(time.RFC3339, string(sec.Data[pool.AuthKeyExpiresKey]))
	return t, err == nil
}

// StateSecret is created empty; the machine fills it with its tailnet
// state and its report. The operator never writes its data.
func StateSecret(ep *gatewayv1alpha1.TailscaleEndpoints, pod string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: objectMeta(ep, pool.StateSecretName(pod)),
		Type:       corev1.SecretTypeOpaque,
	}
}

// authKeyRequest asks for a key carrying the pool's tags. The description
// lets an administrator tell which operator, namespace, pool and replica a
// key was for, and lets the operator confirm a key is its own before it
// revokes it.
func authKeyRequest(operatorID string, ep *gatewayv1alpha1.TailscaleEndpoints, m machineName) tsapi.AuthKeyRequest {
	tags := make([]string, 0, len(ep.Spec.Tags))
	for _, t := range ep.Spec.Tags {
		tags = append(tags, string(t))
	}
	return tsapi.AuthKeyRequest{Tags: tags, Description: keyDescription(operatorID, ep.Namespace, ep.Name, m.ordinal), Expiry: authKeyLifetime}
}

// authKeyLifetime is short: a key only has to outlive its pod's first
// start, and a key nobody holds (minted just before a crash) admits
// nobody for long. An unused key that expires is replaced (authkeys.go).
const authKeyLifetime = time.Hour

// maxDescription is the longest key description the Tailscale API takes.
const maxDescription = 50

// keyDescription is "tsgw <operator> <namespace> <pool> <ordinal>", kept
// to the letters, digits, dashes and spaces the Tailscale API accepts in
// a description. When it is too long, the longer of namespace and pool is
// cut first, then the operator ID; the ordinal is always whole. It is
// deterministic: the operator recognises its keys by it (orphans.go).
func keyDescription(operatorID, namespace, poolName string, ordinal int) string {
	parts := []string{descriptionWord(operatorID), descriptionWord(namespace), descriptionWord(poolName)}
	fixed := len("tsgw ") + len(" ") + len(strconv.Itoa(ordinal)) + 2 // the spaces between the parts
	for fixed+len(parts[0])+len(parts[1])+len(parts[2]) > maxDescription {
		cut := 1 // namespace or pool, the longer, while either is longer than one character
		if len(parts[2]) > len(parts[1]) {
			cut = 2
		}
		if len(parts[cut]) <= 1 {
			cut = 0
		}
		parts[cut] = parts[cut][:len(parts[cut])-1]
	}
	return "tsgw " + strings.Join(parts, " ") + " " + strconv.Itoa(ordinal)
}

func descriptionWord(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9') {
			return r
		}
		return '-'
	}, s)
}

// joinTags is how a key's tags are kept in its Secret: sorted, comma-separated.
func joinTags(tags []string) string {
	sorted := slices.Clone(tags)
	slices.Sort(sorted)
	return strings.Join(sorted, ",")
}

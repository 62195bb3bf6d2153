package endpoints

import (
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tsapi"
)

// AuthKeySecret holds the auth key minted once for one machine, and the
// key's ID so that it can be revoked when the machine goes away.
func AuthKeySecret(ep *gatewayv1alpha1.TailscaleEndpoints, pod string, key tsapi.AuthKey) *corev1.Secret {
	sec := &corev1.Secret{
		ObjectMeta: objectMeta(ep, pool.AuthKeySecretName(pod)),
		Type:       corev1.SecretTypeOpaque,
		Data: map[string][]byte{
			pool.AuthKeyKey:   []byte(key.Key.Reveal()),
			pool.AuthKeyIDKey: []byte(key.ID),
		},
	}
	if !key.Expires.IsZero() {
		sec.Data[pool.AuthKeyExpiresKey] = []byte(key.Expires.UTC().Format(time.RFC3339))
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
// lets an administrator tell which machine a key was for.
func authKeyRequest(ep *gatewayv1alpha1.TailscaleEndpoints, pod string) tsapi.AuthKeyRequest {
	tags := make([]string, 0, len(ep.Spec.Tags))
	for _, t := range ep.Spec.Tags {
		tags = append(tags, string(t))
	}
	return tsapi.AuthKeyRequest{Tags: tags, Description: keyDescription(ep.Namespace, pod)}
}

// maxDescription is the longest key description the Tailscale API takes.
const maxDescription = 50

// keyDescription is "tsgw <namespace> <pod>" kept to the letters, digits,
// dashes and spaces the Tailscale API accepts in a description.
func keyDescription(namespace, pod string) string {
	d := strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9') {
			return r
		}
		return '-'
	}, "tsgw "+namespace+" "+pod)
	return d[:min(len(d), maxDescription)]
}

package planner

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/cabundle"
)

// DefaultCABundleKey is the key of a caBundle that names none (the CRD
// defaults it too).
const DefaultCABundleKey = "ca.crt"

// CABundle is what an external service's caBundle gives the proxies: the
// certificates its Secret's key holds, or why there are none.
type CABundle struct {
	// PEM is the key's X.509 certificates and nothing else (cabundle.Parse).
	PEM string `json:"pem,omitempty"`
	// Problem says why the bundle gives no certificate; the external
	// service is then held out of the proxies' configuration.
	Problem *Problem `json:"problem,omitempty"`
}

// ReadCABundle decides what a caBundle gives from the Secret it names (nil
// when it does not exist). Only certificates are kept (package cabundle
// says why), and a Secret without one is a Problem that names the fix.
func ReadCABundle(ref gatewayv1alpha1.SecretKeyReference, sec *corev1.Secret) CABundle {
	key := cmp.Or(ref.Key, DefaultCABundleKey)
	if sec == nil {
		return CABundle{Problem: &Problem{Reason: gatewayv1alpha1.ReasonSecretMissing, Message: fmt.Sprintf(
			"Secret %s does not exist: create it with the PEM CA certificates under key %q", ref.Name, key)}}
	}
	data, ok := sec.Data[key]
	if !ok {
		return CABundle{Problem: &Problem{Reason: gatewayv1alpha1.ReasonSecretKeyMissing, Message: fmt.Sprintf(
			"Secret %s has no key %q (it has %s): put the PEM CA certificates under that key, or name the key that holds them in caBundle.key",
			ref.Name, key, keyList(sec))}}
	}
	b := cabundle.Parse(data)
	if b.Certificates == 0 {
		found := "no PEM block"
		if b.Dropped > 0 {
			found = fmt.Sprintf("%d PEM block(s), none an X.509 certificate", b.Dropped)
		}
		return CABundle{Problem: &Problem{Reason: gatewayv1alpha1.ReasonInvalidCABundle, Message: fmt.Sprintf(
			"key %q of Secret %s holds no certificate (%d bytes, %s): put PEM X.509 certificates there, each from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----",
			key, ref.Name, len(data), found)}}
	}
	return CABundle{PEM: string(b.PEM)}
}

// keyList names a Secret's keys (never its values).
func keyList(sec *corev1.Secret) string {
	if len(sec.Data) == 0 {
		return "no keys"
	}
	return strings.Join(slices.Sorted(maps.Keys(sec.Data)), ", ")
}

// caBundle is what the external service's caBundle gives; a bundle that
// was not read counts as a missing Secret. ok is false when the service
// must be held out: it names a caBundle that gives no certificate.
func (s Service) caBundle(e gatewayv1alpha1.ExternalService) (b CABundle, ok bool) {
	if e.CABundle == nil {
		return CABundle{}, true
	}
	b, read := s.CABundles[e.Name]
	if !read {
		b = ReadCABundle(*e.CABundle, nil)
	}
	if b.Problem == nil && b.PEM == "" {
		b.Problem = &Problem{Reason: gatewayv1alpha1.ReasonInvalidCABundle, Message: fmt.Sprintf("Secret %s holds no certificate", e.CABundle.Name)}
	}
	return b, b.Problem == nil
}

// externalServicesCondition says whether every external service is in the
// proxies' configuration; nil when there is none. One whose caBundle gives
// no certificate is held out (no traffic, no checks). Checking it against
// the system roots alone instead would trust what the user did not ask to
// trust for it; and a backend failing its checks still gets traffic when
// no backend is healthy (panic mode, see conditions in status.go).
func externalServicesCondition(s Service, cond func(string, bool, string, string) metav1.Condition) *metav1.Condition {
	sd := s.Object.Spec.ServiceDiscovery
	if sd == nil || len(sd.ExternalServices) == 0 {
		return nil
	}
	reason, held := "", []string(nil)
	for i, e := range sd.ExternalServices {
		b, ok := s.caBundle(e)
		if ok {
			continue
		}
		reason = cmp.Or(reason, b.Problem.Reason)
		held = append(held, fmt.Sprintf("external service %s (spec.serviceDiscovery.externalServices[%d].caBundle): %s", e.Name, i, b.Problem.Message))
	}
	if len(held) == 0 {
		c := cond(gatewayv1alpha1.ConditionExternalServicesReady, true, gatewayv1alpha1.ReasonConfigured,
			fmt.Sprintf("every external service (%d) is in the proxies' configuration", len(sd.ExternalServices)))
		return &c
	}
	c := cond(gatewayv1alpha1.ConditionExternalServicesReady, false, reason, strings.Join(held, "; ")+
		". Until each is fixed, the proxies leave it out of their configuration (no traffic, no health checks) rather than trust the system roots alone; the other backends are not affected")
	return &c
}

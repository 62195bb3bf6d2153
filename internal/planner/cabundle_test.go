package planner_test

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/backend"
	"github.com/tailscale-gateway/tailscale-gateway/internal/planner"
	"github.com/tailscale-gateway/tailscale-gateway/internal/proxyconfig"
)

// caPEM is a self-signed CA certificate (the one of the golden files).
const caPEM = `-----BEGIN CERTIFICATE-----
MIIBiTCCAS+gAwIBAgIUTqqRurzlQGpo47JTSXYjb7cumlYwCgYIKoZIzj0EAwIw
GTEXMBUGA1UEAwwOY2RuLWNhLmV4YW1wbGUwIBcNMjYxMjA1MjIxNzAwWhgPMjEy
NjExMTEyMjE3MDBaMBkxFzAVBgNVBAMMDmNkbi1jYS5leGFtcGxlMFkwEwYHKoZI
zj0CAQYIKoZIzj0DAQcDQgAELqPoBvbs5jzt/OA/YqSE3QqsfuGRHzAs8cAPXq6B
rPnyDk9LlHHZgYZ93ksU13ZAhc07kdKH2p0tDi5V48Eu4qNTMFEwHQYDVR0OBBYE
FBVyFPSuC/77md534Q12liC+V2LVMB8GA1UdIwQYMBaAFBVyFPSuC/77md534Q12
liC+V2LVMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIgGaI23BlY
4zfrlgOMwRK4bjFtV2gPVebW57eFRE4w25wCIQDigxZ1sqgsLBbEnC7Bv5URc7pt
UcB1NnlJy5IZln8Izg==
-----END CERTIFICATE-----
`

func TestReadCABundle(t *testing.T) {
	secret := func(data map[string]string) *corev1.Secret {
		s := &corev1.Secret{Data: map[string][]byte{}}
		for k, v := range data {
			s.Data[k] = []byte(v)
		}
		return s
	}
	ref := gatewayv1alpha1.SecretKeyReference{Name: "ext-ca"}
	for _, tc := range []struct {
		name   string
		ref    gatewayv1alpha1.SecretKeyReference
		secret *corev1.Secret
		pem    string
		reason string
		says   []string // in the message
	}{
		{name: "certificates", ref: ref, secret: secret(map[string]string{"ca.crt": caPEM}), pem: caPEM},
		{name: "certificates among comments and a private key", ref: ref,
			secret: secret(map[string]string{"ca.crt": "# ours\n" + caPEM + "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}),
			pem:    caPEM},
		{name: "a named key", ref: gatewayv1alpha1.SecretKeyReference{Name: "ext-ca", Key: "bundle.pem"},
			secret: secret(map[string]string{"bundle.pem": caPEM}), pem: caPEM},
		{name: "no Secret", ref: ref, reason: gatewayv1alpha1.ReasonSecretMissing,
			says: []string{"Secret ext-ca does not exist", `"ca.crt"`}},
		{name: "no such key", ref: gatewayv1alpha1.SecretKeyReference{Name: "ext-ca", Key: "ca.pem"},
			secret: secret(map[string]string{"tls.crt": caPEM, "tls.key": "secret"}), reason: gatewayv1alpha1.ReasonSecretKeyMissing,
			says: []string{`no key "ca.pem"`, "it has tls.crt, tls.key", "caBundle.key"}},
		{name: "an empty value", ref: ref, secret: secret(map[string]string{"ca.crt": ""}), reason: gatewayv1alpha1.ReasonInvalidCABundle,
			says: []string{`key "ca.crt" of Secret ext-ca holds no certificate (0 bytes, no PEM block)`}},
		{name: "DER", ref: ref, secret: secret(map[string]string{"ca.crt": "0\x82\x01\x89"}), reason: gatewayv1alpha1.ReasonInvalidCABundle,
			says: []string{"no PEM block", "-----BEGIN CERTIFICATE-----"}},
		{name: "a private key only", ref: ref,
			secret: secret(map[string]string{"ca.crt": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}),
			reason: gatewayv1alpha1.ReasonInvalidCABundle, says: []string{"1 PEM block(s), none an X.509 certificate"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := planner.ReadCABundle(tc.ref, tc.secret)
			if got.PEM != tc.pem {
				t.Errorf("PEM %q, want %q", got.PEM, tc.pem)
			}
			if tc.reason == "" {
				if got.Problem != nil {
					t.Errorf("problem %+v", got.Problem)
				}
				return
			}
			if got.Problem == nil || got.Problem.Reason != tc.reason {
				t.Fatalf("problem %+v, want reason %s", got.Problem, tc.reason)
			}
			for _, s := range tc.says {
				if !strings.Contains(got.Problem.Message, s) {
					t.Errorf("message %q does not say %q", got.Problem.Message, s)
				}
			}
			if strings.Contains(got.Problem.Message, "secret\"") || strings.Contains(got.Problem.Message, "AAAA") {
				t.Errorf("message %q shows the Secret's data", got.Problem.Message)
			}
		})
	}
}

// A service whose external service's CA bundle is junk keeps it out of
// its pools' configuration, and the pool's other service is untouched;
// once the bundle holds a certificate, only the certificate is rendered.
func TestBadCABundleHoldsOutOneExternalService(t *testing.T) {
	junk := "this is not PEM -----BEGIN NOTHING-----\n\x00\xff"
	p := planner.Pool{Name: "web", Namespace: "prod", Tags: []string{"tag:web"},
		Ports:    []gatewayv1alpha1.ProxyPort{{Port: 443, Protocol: gatewayv1alpha1.ProtocolTCP}},
		Machines: []gatewayv1alpha1.Machine{{Name: "web-0", TailnetIPs: []string{"100.64.0.1"}, Ready: true}},
		Backend:  backend.Result{Targets: []backend.Target{{Port: 443, Protocol: gatewayv1alpha1.ProtocolTCP, Addresses: []string{"10.0.0.1:443"}}}}}
	object := func(name string, ext ...gatewayv1alpha1.ExternalService) *gatewayv1alpha1.TailscaleServices {
		ts := &gatewayv1alpha1.TailscaleServices{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "prod", Generation: 1},
			Spec: gatewayv1alpha1.TailscaleServicesSpec{Selector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}}
		if len(ext) > 0 {
			ts.Spec.ServiceDiscovery = &gatewayv1alpha1.ServiceDiscoverySpec{ExternalServices: ext}
		}
		return ts
	}
	ext := gatewayv1alpha1.ExternalService{Name: "ext", Address: "ext.example.com", Port: 443, Protocol: "HTTPS",
		CABundle: &gatewayv1alpha1.SecretKeyReference{Name: "ext-ca"}}
	render := func(bundle string) (string, planner.Service) {
		a := planner.Service{Object: object("a", ext), Pools: []planner.Pool{p}, CABundles: map[string]planner.CABundle{
			"ext": planner.ReadCABundle(*ext.CABundle, &corev1.Secret{Data: map[string][]byte{"ca.crt": []byte(bundle)}}),
		}}
		b := planner.Service{Object: object("b"), Pools: []planner.Pool{p}}
		cfg, _, err := planner.PoolConfig(p, "http://control", []planner.Service{a, b})
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"svc:a", "svc:b"} {
			if !hosts(cfg.Listeners, want) {
				t.Errorf("the pool does not host %s", want)
			}
		}
		out, err := yaml.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return string(out), a
	}

	cfg, a := render(junk)
	if strings.Contains(cfg, "ext.example.com") || strings.Contains(cfg, "not PEM") {
		t.Errorf("the external service with a junk CA bundle is configured:\n%s", cfg)
	}
	st := planner.Status(planner.Observed{Service: a})
	c := meta.FindStatusCondition(st.Conditions, gatewayv1alpha1.ConditionExternalServicesReady)
	if c == nil || c.Status != metav1.ConditionFalse || c.Reason != gatewayv1alpha1.ReasonInvalidCABundle ||
		!strings.Contains(c.Message, "external service ext (spec.serviceDiscovery.externalServices[0].caBundle)") {
		t.Errorf("ExternalServicesReady %+v", c)
	}

	cfg, a = render("# our CA\n" + caPEM + "junk after it")
	if !strings.Contains(cfg, "ext.example.com") || strings.Contains(cfg, "our CA") || strings.Contains(cfg, "junk after") {
		t.Errorf("want the external service with the certificate alone:\n%s", cfg)
	}
	st = planner.Status(planner.Observed{Service: a, Previous: st})
	if c := meta.FindStatusCondition(st.Conditions, gatewayv1alpha1.ConditionExternalServicesReady); c == nil || c.Status != metav1.ConditionTrue {
		t.Errorf("ExternalServicesReady %+v once the bundle is fixed", c)
	}

	a.Object.Spec.ServiceDiscovery = nil
	st = planner.Status(planner.Observed{Service: a, Previous: st})
	if c := meta.FindStatusCondition(st.Conditions, gatewayv1alpha1.ConditionExternalServicesReady); c != nil {
		t.Errorf("ExternalServicesReady %+v stays without external services", c)
	}
}

func hosts(ls []proxyconfig.Listener, vip string) bool {
	for _, l := range ls {
		if l.VIPService == vip {
			return true
		}
	}
	return false
}

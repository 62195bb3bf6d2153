package services_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/apiemulator"
	"github.com/tailscale-gateway/tailscale-gateway/internal/cabundle"
	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
	"github.com/tailscale-gateway/tailscale-gateway/internal/proxyconfig"
)

// Bytes of the bad bundle that must never reach a ConfigMap.
const (
	junkText = "this is not a certificate"
	junkKey  = "-----BEGIN PRIVATE KEY-----\nTk9UIEEgS0VZ\n-----END PRIVATE KEY-----\n"
)

// A CA bundle that is not PEM, on service a, is a's problem alone:
// ExternalServicesReady False naming the field, the Secret and the key, a
// Warning, and a's external service held out of the pool's configuration;
// service b, sharing the pool, keeps its configuration (its own external
// service with the certificate of its bundle, and nothing else of it), and
// the ConfigMap carries no byte of the bad bundle. A missing Secret is
// reported the same way, and fixing the Secret clears the condition. The
// services controller resyncs once an hour here: each step is seen
// through its watch on Secrets.
func TestBadCABundleFailsOnlyItsService(t *testing.T) {
	emu := apiemulator.New(apiemulator.Options{ClientID: clientID, ClientSecret: clientSecret, TailnetDomain: "tail-test.ts.net"})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	f := startClusterWith(t, emu, srv.URL, "operator-a", time.Hour)
	f.pool(t, "web-east", "east", "127.0.0.1:18081", 1)

	caB, caA := certificatePEM(t, "b-ca"), certificatePEM(t, "a-ca")
	f.create(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "b-ca", Namespace: ns},
		Data: map[string][]byte{"ca.crt": []byte("# b's CA, " + junkText + "\n" + caB + junkKey)}})
	f.create(t, withExternal("b", "svc:b", "cdn", "b-ca"))
	f.create(t, withExternal("a", "svc:a", "ext", "a-ca"))

	// b is whole; a's Secret does not exist yet.
	bServed := func(cfg *proxyconfig.Config) (bool, string) {
		ca, ok := externalCA(cfg, "svc:b:80", "external/cdn")
		return ok && hostsVIP(cfg, "svc:b") && ca == caB, fmt.Sprintf("b hosted %v, cdn configured %v with its certificate alone %v", hostsVIP(cfg, "svc:b"), ok, ca == caB)
	}
	eventually(t, "a SecretMissing, b Configured and served", func(ctx context.Context) (bool, string) {
		a, b, cfg := f.get(ctx, "a"), f.get(ctx, "b"), f.proxyConfig(ctx, "web-east")
		if cfg == nil {
			return false, "no configuration yet"
		}
		served, detail := bServed(cfg)
		_, aExt := externalCA(cfg, "svc:a:80", "external/ext")
		return condition(a, extReady) == "False/SecretMissing" && condition(b, extReady) == "True/Configured" && served && hostsVIP(cfg, "svc:a") && !aExt,
			fmt.Sprintf("a %s, b %s, %s, a's ext configured %v", condition(a, extReady), condition(b, extReady), detail, aExt)
	})

	// a's Secret appears, holding no certificate.
	f.create(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "a-ca", Namespace: ns},
		Data: map[string][]byte{"ca.crt": []byte(junkText + "\x00\xff\n" + junkKey)}})
	eventually(t, "a InvalidCABundle, with a Warning", func(ctx context.Context) (bool, string) {
		a := f.get(ctx, "a")
		return condition(a, extReady) == "False/InvalidCABundle" && f.warnings(ctx, ns, "a", "InvalidCABundle") == 1,
			fmt.Sprintf("%s, %d warnings", condition(a, extReady), f.warnings(ctx, ns, "a", "InvalidCABundle"))
	})
	msg := meta.FindStatusCondition(f.get(t.Context(), "a").Status.Conditions, extReady).Message
	for _, want := range []string{"external service ext", "spec.serviceDiscovery.externalServices[0].caBundle", "Secret a-ca", `"ca.crt"`, "-----BEGIN CERTIFICATE-----"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the condition's message %q does not say %q", msg, want)
		}
	}
	if strings.Contains(msg, junkText) || strings.Contains(msg, "Tk9UIEEgS0VZ") {
		t.Errorf("the condition's message %q shows the Secret's data", msg)
	}
	if c := condition(f.get(t.Context(), "b"), extReady); c != "True/Configured" {
		t.Errorf("b's ExternalServicesReady is %s", c)
	}
	raw := f.rawProxyConfig(t, "web-east")
	cfg, err := proxyconfig.Parse([]byte(raw))
	if err != nil {
		t.Fatalf("the pool's configuration does not parse: %v", err)
	}
	if ok, detail := bServed(cfg); !ok {
		t.Errorf("b is not served as before: %s", detail)
	}
	if _, ok := externalCA(cfg, "svc:a:80", "external/ext"); ok || !hostsVIP(cfg, "svc:a") {
		t.Errorf("want svc:a hosted without its external service")
	}
	onlyCertificates(t, raw, cfg)

	// Fixed: a's certificate, and only it, reaches the pool.
	sec := &corev1.Secret{}
	if err := f.env.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "a-ca"}, sec); err != nil {
		t.Fatal(err)
	}
	sec.Data["ca.crt"] = []byte(junkText + "\n" + caA)
	if err := f.env.Client.Update(t.Context(), sec); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a Configured, its external service back with its certificate", func(ctx context.Context) (bool, string) {
		a, cfg := f.get(ctx, "a"), f.proxyConfig(ctx, "web-east")
		if cfg == nil {
			return false, "no configuration"
		}
		ca, ok := externalCA(cfg, "svc:a:80", "external/ext")
		return condition(a, extReady) == "True/Configured" && ok && ca == caA,
			fmt.Sprintf("a %s, ext configured %v with its certificate %v", condition(a, extReady), ok, ca == caA)
	})
	raw = f.rawProxyConfig(t, "web-east")
	if cfg, err = proxyconfig.Parse([]byte(raw)); err != nil {
		t.Fatal(err)
	}
	onlyCertificates(t, raw, cfg)
}

const extReady = gatewayv1alpha1.ConditionExternalServicesReady

// withExternal is a TailscaleServices over the web pools with one HTTPS
// external service whose caBundle names the Secret (its key defaulted).
func withExternal(name, vip, ext, secret string) *gatewayv1alpha1.TailscaleServices {
	return &gatewayv1alpha1.TailscaleServices{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: gatewayv1alpha1.TailscaleServicesSpec{
			Selector:   metav1.LabelSelector{MatchLabels: map[string]string{"service-type": "web"}},
			VIPService: &gatewayv1alpha1.VIPServiceSpec{Name: gatewayv1alpha1.VIPServiceName(vip), Tags: []gatewayv1alpha1.Tag{"tag:web"}, AutoApprove: true},
			ServiceDiscovery: &gatewayv1alpha1.ServiceDiscoverySpec{ExternalServices: []gatewayv1alpha1.ExternalService{{
				Name: ext, Address: ext + ".example.test", Port: 443, Protocol: "HTTPS",
				CABundle: &gatewayv1alpha1.SecretKeyReference{Name: secret},
			}}},
		},
	}
}

// externalCA is the CA of a backend of a service in the configuration,
// and whether the backend is there.
func externalCA(cfg *proxyconfig.Config, service, backend string) (string, bool) {
	for _, s := range cfg.Services {
		for _, b := range s.Backends {
			if s.Name == service && b.Name == backend {
				if b.TLS == nil {
					return "", true
				}
				return b.TLS.CA, true
			}
		}
	}
	return "", false
}

// onlyCertificates fails when the pool's configuration carries a byte of
// a bad bundle, or a CA that is more than X.509 certificates.
func onlyCertificates(t *testing.T, raw string, cfg *proxyconfig.Config) {
	t.Helper()
	for _, junk := range []string{junkText, "PRIVATE KEY", "Tk9UIEEgS0VZ"} {
		if strings.Contains(raw, junk) {
			t.Errorf("the pool's ConfigMap carries %q", junk)
		}
	}
	for _, s := range cfg.Services {
		for _, b := range s.Backends {
			if b.TLS == nil || b.TLS.CA == "" {
				continue
			}
			if got := cabundle.Parse([]byte(b.TLS.CA)); got.Dropped > 0 || string(got.PEM) != b.TLS.CA {
				t.Errorf("%s, backend %s: the CA is not certificates alone", s.Name, b.Name)
			}
		}
	}
}

func (f *fixture) rawProxyConfig(t *testing.T, poolName string) string {
	t.Helper()
	cm := &corev1.ConfigMap{}
	if err := f.env.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: pool.ConfigMapName(poolName)}, cm); err != nil {
		t.Fatal(err)
	}
	return cm.Data[pool.ConfigKey]
}

// certificatePEM is a new self-signed CA certificate.
func certificatePEM(t *testing.T, name string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

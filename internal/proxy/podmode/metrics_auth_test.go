package podmode

import (
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tailscale-gateway/tailscale-gateway/internal/kubetest"
)

// With a metrics address, the machine serves /metrics there over HTTPS to
// callers the API server authenticates (TokenReview) and authorises
// (SubjectAccessReview for GET /metrics) only, and no longer on the admin
// address, whose probes stay plain and open.
func TestMetricsBehindAuthentication(t *testing.T) {
	env := kubetest.Start(t)
	ctx := t.Context()
	log := slog.New(slog.DiscardHandler)
	filter, err := AuthFilter(env.Config, log)
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr := freeAddr(t)
	m, err := newMachine(Options{AdminAddress: "127.0.0.1:0", MetricsAddress: metricsAddr, MetricsFilter: filter}.withDefaults(), nil, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.stopAdmin(); m.stopMetrics() })

	plain := &http.Client{Timeout: 5 * time.Second}
	tlsClient := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // self-signed, as controller-runtime's
	}}
	get := func(c *http.Client, url, token string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body)
	}
	admin := "http://" + m.adminAddr.String()
	metrics := "https://" + metricsAddr + "/metrics"

	if code, _ := get(plain, admin+"/healthz", ""); code != http.StatusOK {
		t.Errorf("GET /healthz on the admin port: %d, want 200", code)
	}
	if code, _ := get(plain, admin+"/metrics", ""); code != http.StatusNotFound {
		t.Errorf("GET /metrics on the admin port: %d, want 404 (served on the metrics port only)", code)
	}
	if code, _ := get(tlsClient, metrics, ""); code != http.StatusUnauthorized {
		t.Errorf("GET /metrics without a token: %d, want 401", code)
	}
	// controller-runtime's filter answers 500 when the TokenReview fails
	// (as the operator's own metrics do): refused all the same.
	if code, _ := get(tlsClient, metrics, "not-a-token"); code == http.StatusOK {
		t.Errorf("GET /metrics with a bad token: 200, want refused")
	}
	if code, _ := get(plain, "http://"+metricsAddr+"/metrics", ""); code == http.StatusOK {
		t.Errorf("GET /metrics over plain HTTP: 200, want refused")
	}

	// ServiceAccounts' tokens: both authenticated, one bound to a metrics
	// reader role (config/rbac's tsgw-metrics-reader). Bound before the
	// first request: the filter caches a denial for 30s.
	env.Namespace(t, "monitoring")
	reader := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "metrics-reader"},
		Rules:      []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}},
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "prometheus-metrics-reader"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: reader.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "prometheus", Namespace: "monitoring"}},
	}
	for _, obj := range []client.Object{
		reader, binding,
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "monitoring", Name: "prometheus"}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "monitoring", Name: "stranger"}},
	} {
		if err := env.Client.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	kube := kubernetes.NewForConfigOrDie(env.Config)
	token := func(sa string) string {
		t.Helper()
		tr, err := kube.CoreV1().ServiceAccounts("monitoring").CreateToken(ctx, sa, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return tr.Status.Token
	}
	if code, _ := get(tlsClient, metrics, token("stranger")); code != http.StatusForbidden {
		t.Errorf("GET /metrics by a caller not allowed: %d, want 403", code)
	}
	allowed := token("prometheus")
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, body := get(tlsClient, metrics, allowed)
		if code == http.StatusOK && strings.Contains(body, "tsgw_proxy_config_refused") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /metrics by an allowed caller: %d %.200s, want 200 with the proxy's metrics", code, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

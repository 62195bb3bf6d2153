package operator_test

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tailscale-gateway/tailscale-gateway/internal/kubetest"
	"github.com/tailscale-gateway/tailscale-gateway/internal/operator"
	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
)

// The operator's cache keeps the data of its own Secrets only, and only
// the proxy pods.
func TestCacheHoldsOnlyWhatTheOperatorOwns(t *testing.T) {
	env := kubetest.Start(t)
	env.Namespace(t, "apps")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	mgr, err := operator.New(ctx, env.Config, operator.Options{
		Scheme: env.Scheme, Namespace: "apps", DefaultTailnet: "lab", ProxyImage: "tsgw-proxy:test",
		OperatorID: "test", MetricsAddr: "0", ProbeAddr: "0", SharedProcess: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	ours := map[string]string{pool.LabelManagedBy: pool.ManagedBy}
	for _, obj := range []client.Object{
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "oauth", Namespace: "apps"}, StringData: map[string]string{"client_secret": "s3cret"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "web-0-state", Namespace: "apps", Labels: ours}, StringData: map[string]string{"tsgw-status": "{}"}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "apps"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i"}}}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: "apps", Labels: ours}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i"}}}},
	} {
		if err := env.Client.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	cached := mgr.GetClient()
	state := &corev1.Secret{}
	eventually(t, "the state Secret in the cache", func() bool {
		return cached.Get(ctx, client.ObjectKey{Namespace: "apps", Name: "web-0-state"}, state) == nil
	})
	if string(state.Data["tsgw-status"]) != "{}" {
		t.Errorf("the operator's own Secret lost its data in the cache: %v", state.Data)
	}
	oauth := &corev1.Secret{}
	eventually(t, "the OAuth Secret in the cache", func() bool {
		return cached.Get(ctx, client.ObjectKey{Namespace: "apps", Name: "oauth"}, oauth) == nil
	})
	if len(oauth.Data) != 0 {
		t.Errorf("another's Secret is cached with its data: keys %d", len(oauth.Data))
	}
	eventually(t, "the proxy pod in the cache", func() bool {
		return cached.Get(ctx, client.ObjectKey{Namespace: "apps", Name: "web-0"}, &corev1.Pod{}) == nil
	})
	pods := &corev1.PodList{}
	if err := cached.List(ctx, pods, client.InNamespace("apps")); err != nil || len(pods.Items) != 1 {
		t.Errorf("cached pods %d (%v), want only the proxy pod", len(pods.Items), err)
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: never happened", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Metrics are served over HTTPS to callers the API server authenticates
// and allows to get /metrics, and to nobody else.
func TestMetricsNeedAuthorisation(t *testing.T) {
	env := kubetest.Start(t)
	env.Namespace(t, "monitoring")
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	mgr, err := operator.New(ctx, env.Config, operator.Options{
		Scheme: env.Scheme, Namespace: "monitoring", DefaultTailnet: "lab", ProxyImage: "tsgw-proxy:test",
		OperatorID: "test", MetricsAddr: addr, ProbeAddr: "0", SharedProcess: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	kube := kubernetes.NewForConfigOrDie(env.Config)
	if _, err := kube.CoreV1().ServiceAccounts("monitoring").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "prometheus"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tr, err := kube.CoreV1().ServiceAccounts("monitoring").CreateToken(ctx, "prometheus", &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	scrape := func(token string) int {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+addr+"/metrics", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // its certificate is self-signed
		res, err := c.Do(req)
		if err != nil {
			return 0
		}
		res.Body.Close()
		return res.StatusCode
	}
	eventually(t, "an anonymous scrape refused", func() bool { return scrape("") == http.StatusUnauthorized })
	if got := scrape(tr.Status.Token); got != http.StatusForbidden {
		t.Errorf("a scrape by a ServiceAccount without the metrics-reader role: %d, want 403", got)
	}
	reader := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "tsgw-metrics-reader"},
		Rules: []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}}}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "prometheus-reads-tsgw"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: reader.Name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: "monitoring", Name: "prometheus"}}}
	for _, o := range []client.Object{reader, binding} {
		if err := env.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "the bound ServiceAccount's scrape answered", func() bool { return scrape(tr.Status.Token) == http.StatusOK })
}

// freeAddr is a loopback address with a port nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

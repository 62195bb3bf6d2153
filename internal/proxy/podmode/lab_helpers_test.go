package podmode_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tailscale-gateway/tailscale-gateway/internal/apiemulator"
	"github.com/tailscale-gateway/tailscale-gateway/internal/kubetest"
	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
)

// createVIPService creates a VIP service through the emulator's API, as
// the operator would.
func createVIPService(t *testing.T, emu *apiemulator.Server, name string) {
	api := httptest.NewServer(emu)
	defer api.Close()
	res, err := http.PostForm(api.URL+"/api/v2/oauth/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {"lab"}, "client_secret": {"secret"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var token struct {
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(res.Body).Decode(&token)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("PUT", api.URL+"/api/v2/tailnet/-/vip-services/"+name,
		strings.NewReader(`{"ports": ["tcp:80"], "tags": ["tag:demo"]}`))
	req.Header.Set("Authorization", "Bearer "+token.AccessToken)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode/100 != 2 {
		t.Fatalf("creating %s: %s: %s", name, res.Status, body)
	}
}

// tailnetHostname is the hostname the operator would choose for a pod:
// not the pod's name, so the tests prove the proxy joins under the one in
// its auth key Secret.
func tailnetHostname(pod string) string { return pod + "-tn" }

// podObjects creates what the operator creates for one machine: its auth
// key Secret, its (empty) state Secret, and a ServiceAccount whose Role
// allows exactly what the proxy may do. It returns a client acting as that
// ServiceAccount, so the test fails if the proxy needs any other verb.
func podObjects(t *testing.T, env *kubetest.Env, ns, poolName, pod string) kubernetes.Interface {
	ctx := t.Context()
	sa := pool.ServiceAccountName(poolName)
	objs := []client.Object{
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: pool.AuthKeySecretName(pod)},
			Data: map[string][]byte{pool.AuthKeyKey: []byte("tskey-auth-lab-" + pod), pool.HostnameKey: []byte(tailnetHostname(pod))}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: pool.StateSecretName(pod)}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: sa}},
		&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: sa}, Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list", "watch"},
				ResourceNames: []string{pool.ConfigMapName(poolName)}},
			{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"},
				ResourceNames: []string{pool.AuthKeySecretName(pod)}},
			{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "update", "patch"},
				ResourceNames: []string{pool.StateSecretName(pod)}},
		}},
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: sa},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: sa},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: ns, Name: sa}}},
	}
	for _, o := range objs {
		if err := env.Client.Create(ctx, o); err != nil {
			t.Fatalf("creating %T %s: %v", o, o.GetName(), err)
		}
	}
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: fmt.Sprintf("system:serviceaccount:%s:%s", ns, sa)}
	return kubernetes.NewForConfigOrDie(cfg)
}

// readReport returns the machine's report and its state Secret's data.
func readReport(ctx context.Context, env *kubetest.Env, ns, pod string) (pool.MachineStatus, map[string][]byte, error) {
	var sec corev1.Secret
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: pool.StateSecretName(pod)}, &sec); err != nil {
		return pool.MachineStatus{}, nil, err
	}
	var st pool.MachineStatus
	raw := sec.Data[pool.StatusKey]
	if len(raw) == 0 {
		return st, sec.Data, fmt.Errorf("%s has no report yet", pod)
	}
	return st, sec.Data, json.Unmarshal(raw, &st)
}

// eventually retries check until it passes or ctx ends.
func eventually(t *testing.T, ctx context.Context, what string, check func() error) {
	t.Helper()
	var err error
	for {
		if err = check(); err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: %v (last error: %v)", what, ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

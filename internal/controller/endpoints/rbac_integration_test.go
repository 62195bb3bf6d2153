package endpoints

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/kubetest"
	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tsapi"
)

// TestProxyRoleIsolation signs in as a pool's ServiceAccount and checks
// that its Role reaches its own ConfigMap and Secrets and nothing else.
func TestProxyRoleIsolation(t *testing.T) {
	env := kubetest.Start(t)
	env.Namespace(t, poolNS)
	ctx := t.Context()
	admin := env.Client
	create := func(obj client.Object) {
		t.Helper()
		if err := admin.Create(ctx, obj); err != nil {
			t.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
		}
	}
	web, db := webPool("web", "lab", 2), webPool("db", "lab", 1)
	for _, ep := range []*gatewayv1alpha1.TailscaleEndpoints{web, db} {
		create(ep)
		create(ServiceAccount(ep))
		create(Role(ep))
		create(RoleBinding(ep))
		create(&corev1.ConfigMap{ObjectMeta: objectMeta(ep, pool.ConfigMapName(ep.Name))})
		create(StateSecret(ep, pool.PodName(ep.Name, 0)))
		create(authKeySecret(ep, nameMachine("op", ep, 0), tsapi.AuthKey{ID: "k-" + ep.Name, Key: tsapi.NewSecret("tskey-auth-x")}))
	}

	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + poolNS + ":" + pool.ServiceAccountName("web")}
	proxy, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	key := func(name string) types.NamespacedName { return types.NamespacedName{Namespace: poolNS, Name: name} }
	allowed := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Errorf("%s: %v, want allowed", what, err)
		}
	}
	forbidden := func(what string, err error) {
		t.Helper()
		if !apierrors.IsForbidden(err) {
			t.Errorf("%s: %v, want forbidden", what, err)
		}
	}

	allowed("get own ConfigMap", proxy.Get(ctx, key("web-proxy"), &corev1.ConfigMap{}))
	allowed("list own ConfigMap by name", proxy.List(ctx, &corev1.ConfigMapList{}, client.InNamespace(poolNS),
		client.MatchingFieldsSelector{Selector: fields.OneTermEqualSelector("metadata.name", "web-proxy")}))
	forbidden("list all ConfigMaps", proxy.List(ctx, &corev1.ConfigMapList{}, client.InNamespace(poolNS)))
	forbidden("get another pool's ConfigMap", proxy.Get(ctx, key("db-proxy"), &corev1.ConfigMap{}))
	forbidden("update own ConfigMap", proxy.Update(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "web-proxy", Namespace: poolNS}}))

	state := &corev1.Secret{}
	allowed("get own state", proxy.Get(ctx, key("web-0-state"), state))
	state.Data = map[string][]byte{pool.StatusKey: []byte(`{"ready":true}`)}
	allowed("update own state", proxy.Update(ctx, state))
	allowed("patch own state", proxy.Patch(ctx, state, client.RawPatch(types.MergePatchType, []byte(`{"data":{"x":"eQ=="}}`))))
	authKey := &corev1.Secret{}
	allowed("get own auth key", proxy.Get(ctx, key("web-0-authkey"), authKey))
	forbidden("update own auth key", proxy.Update(ctx, authKey))

	forbidden("get another pool's state", proxy.Get(ctx, key("db-0-state"), &corev1.Secret{}))
	forbidden("get another pool's auth key", proxy.Get(ctx, key("db-0-authkey"), &corev1.Secret{}))
	forbidden("patch another pool's state", proxy.Patch(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db-0-state", Namespace: poolNS}},
		client.RawPatch(types.MergePatchType, []byte(`{"data":{"x":"eQ=="}}`))))
	forbidden("list Secrets", proxy.List(ctx, &corev1.SecretList{}, client.InNamespace(poolNS)))
	forbidden("create a Secret", proxy.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "web-9-state", Namespace: poolNS}}))
	forbidden("delete own state", proxy.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "web-0-state", Namespace: poolNS}}))
}

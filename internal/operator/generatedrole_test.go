package operator_test

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/kubetest"
)

// Every controller writes its status with only the permissions
// config/rbac generates from the markers. Each object here is refused by
// its controller without any tailnet (an unknown tailnet, a missing OAuth
// Secret, a selector matching nothing), so the test needs none; what it
// checks is that the refusal reaches status. On a real node, the pools'
// status never appeared: their marker granted patch, not update, and the
// controller writes status by Update (envtest's admin credentials hid it).
func TestStatusWritesWithTheGeneratedRole(t *testing.T) {
	env := kubetest.Start(t)
	const ns, user = "tsgw-status", "tsgw-status-operator"
	env.Namespace(t, ns)
	startAsGeneratedRole(t, env, ns, user, false)
	ctx := t.Context()

	tn := &gatewayv1alpha1.TailscaleTailnet{
		ObjectMeta: metav1.ObjectMeta{Name: "status-role"},
		Spec: gatewayv1alpha1.TailscaleTailnetSpec{
			OAuthSecretRef: gatewayv1alpha1.SecretReference{Name: "missing", Namespace: ns},
		},
	}
	pool := &gatewayv1alpha1.TailscaleEndpoints{
		ObjectMeta: metav1.ObjectMeta{Name: "pool", Namespace: ns},
		Spec: gatewayv1alpha1.TailscaleEndpointsSpec{
			Tailnet: "no-such-tailnet", Tags: []gatewayv1alpha1.Tag{"tag:web"},
			Proxy: gatewayv1alpha1.ProxySpec{Ports: []gatewayv1alpha1.ProxyPort{{Port: 80, Protocol: "TCP"}}},
		},
	}
	svc := &gatewayv1alpha1.TailscaleServices{
		ObjectMeta: metav1.ObjectMeta{Name: "svc", Namespace: ns},
		Spec: gatewayv1alpha1.TailscaleServicesSpec{
			Selector:   metav1.LabelSelector{MatchLabels: map[string]string{"matches": "nothing"}},
			VIPService: &gatewayv1alpha1.VIPServiceSpec{Name: "svc:status-role", Ports: []gatewayv1alpha1.VIPServicePort{"tcp:80"}},
		},
	}
	for _, obj := range []client.Object{tn, pool, svc} {
		if err := env.Client.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	hasReady := func(obj client.Object, conds *[]metav1.Condition) func() bool {
		return func() bool {
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
				return false
			}
			return meta.FindStatusCondition(*conds, gatewayv1alpha1.ConditionReady) != nil
		}
	}
	eventually(t, "the TailscaleTailnet's Ready condition", hasReady(tn, &tn.Status.Conditions))
	eventually(t, "the TailscaleEndpoints' Ready condition", hasReady(pool, &pool.Status.Conditions))
	eventually(t, "the TailscaleServices' Ready condition", hasReady(svc, &svc.Status.Conditions))
}

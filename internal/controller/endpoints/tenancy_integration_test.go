package endpoints

import (
	"context"
	"fmt"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/kubetest"
)

// A tailnet shared by teams admits a pool only from the namespaces its
// access selects, with the tags it allows; a refused pool gets nothing,
// neither in the tailnet nor in the cluster, and says why.
func TestTailnetAccess(t *testing.T) {
	l := startLab(t)
	lab := &gatewayv1alpha1.TailscaleTailnet{}
	if err := l.c.Get(t.Context(), client.ObjectKey{Name: "lab"}, lab); err != nil {
		t.Fatal(err)
	}
	tailnetWith := func(name string, access *gatewayv1alpha1.TailnetAccess) *gatewayv1alpha1.TailscaleTailnet {
		return &gatewayv1alpha1.TailscaleTailnet{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: gatewayv1alpha1.TailscaleTailnetSpec{
			APIBaseURL: lab.Spec.APIBaseURL, OAuthSecretRef: lab.Spec.OAuthSecretRef, Access: access}}
	}
	l.create(t, tailnetWith("closed", nil))
	l.create(t, tailnetWith("shared", &gatewayv1alpha1.TailnetAccess{
		NamespaceSelector: metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}},
		Tags:              []gatewayv1alpha1.Tag{"tag:web"},
	}))
	for ns, team := range map[string]string{"team-a": "a", "team-b": "b", "nobody": ""} {
		l.create(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"team": team}}})
	}

	t.Run("a tailnet without access refuses and says to set it", func(t *testing.T) {
		minted := l.keysMinted()
		l.create(t, teamPool("nobody", "web", "closed", "tag:web"))
		c := l.waitReadyFalse(t, "nobody", "web", gatewayv1alpha1.ReasonAccessNotConfigured)
		for _, part := range []string{"TailscaleTailnet closed has no spec.access", "set spec.access", "namespaceSelector: {}"} {
			if !strings.Contains(c.Message, part) {
				t.Errorf("message %q lacks %q", c.Message, part)
			}
		}
		l.nothingCreated(t, "nobody", minted)
	})

	t.Run("a namespace outside the selector is refused", func(t *testing.T) {
		minted := l.keysMinted()
		l.create(t, teamPool("team-b", "web", "shared", "tag:web"))
		c := l.waitReadyFalse(t, "team-b", "web", gatewayv1alpha1.ReasonNamespaceNotAllowed)
		for _, part := range []string{"namespace team-b", "spec.access.namespaceSelector (team=a)", "TailscaleTailnet shared"} {
			if !strings.Contains(c.Message, part) {
				t.Errorf("message %q lacks %q", c.Message, part)
			}
		}
		l.nothingCreated(t, "team-b", minted)
		eventually(t, "one Warning event", func() error { return l.warnedOnce("team-b", "web", gatewayv1alpha1.ReasonNamespaceNotAllowed) })
	})

	t.Run("a tag the tailnet does not allow is refused", func(t *testing.T) {
		minted := l.keysMinted()
		l.create(t, teamPool("team-a", "admin", "shared", "tag:admin"))
		c := l.waitReadyFalse(t, "team-a", "admin", gatewayv1alpha1.ReasonTagNotAllowed)
		if !strings.Contains(c.Message, "spec.tags: tag:admin is not allowed by spec.access.tags of TailscaleTailnet shared (tag:web)") {
			t.Errorf("message %q does not name the tag, the rule and the tailnet", c.Message)
		}
		l.nothingCreated(t, "team-a", minted)
	})

	t.Run("relabelling the namespace admits the pool", func(t *testing.T) {
		minted := l.keysMinted()
		err := kubetest.Update(t.Context(), l.c, client.ObjectKey{Name: "team-b"}, func(ns *corev1.Namespace) { ns.Labels["team"] = "a" })
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, "the pool's StatefulSet and key", func() error {
			if err := l.c.Get(t.Context(), client.ObjectKey{Namespace: "team-b", Name: "web"}, &appsv1.StatefulSet{}); err != nil {
				return err
			}
			if l.keysMinted() != minted+1 {
				return fmt.Errorf("%d keys minted, want 1", l.keysMinted()-minted)
			}
			return nil
		})
		// Admitted; what is left is a backend to forward to.
		l.waitReadyFalse(t, "team-b", "web", "ServiceNotFound")
	})

	t.Run("tightening access freezes a running pool but leaves it running", func(t *testing.T) {
		minted := l.keysMinted()
		err := kubetest.Update(t.Context(), l.c, client.ObjectKey{Name: "shared"}, func(tn *gatewayv1alpha1.TailscaleTailnet) {
			tn.Spec.Access.Tags = []gatewayv1alpha1.Tag{"tag:db"}
		})
		if err != nil {
			t.Fatal(err)
		}
		c := l.waitReadyFalse(t, "team-b", "web", gatewayv1alpha1.ReasonTagNotAllowed)
		if !strings.Contains(c.Message, "machines already running are left running") {
			t.Errorf("message %q does not say what happens to the running machines", c.Message)
		}
		err = kubetest.Update(t.Context(), l.c, client.ObjectKey{Namespace: "team-b", Name: "web"}, func(ep *gatewayv1alpha1.TailscaleEndpoints) {
			ep.Spec.Proxy.Replicas = ptr.To[int32](3)
		})
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, "the scale-up seen", func() error {
			ep := &gatewayv1alpha1.TailscaleEndpoints{}
			if err := l.c.Get(t.Context(), client.ObjectKey{Namespace: "team-b", Name: "web"}, ep); err != nil {
				return err
			}
			if ep.Status.ObservedGeneration != ep.Generation {
				return fmt.Errorf("generation %d observed %d", ep.Generation, ep.Status.ObservedGeneration)
			}
			return nil
		})
		sts := &appsv1.StatefulSet{}
		if err := l.c.Get(t.Context(), client.ObjectKey{Namespace: "team-b", Name: "web"}, sts); err != nil {
			t.Fatalf("the running pool's StatefulSet: %v", err)
		}
		if *sts.Spec.Replicas != 1 {
			t.Errorf("StatefulSet scaled to %d while refused", *sts.Spec.Replicas)
		}
		if n := l.keysMinted() - minted; n != 0 {
			t.Errorf("minted %d keys while refused", n)
		}
	})

	t.Run("a refused pool is still cleaned up when deleted", func(t *testing.T) {
		ep := &gatewayv1alpha1.TailscaleEndpoints{}
		key := client.ObjectKey{Namespace: "team-b", Name: "web"}
		if err := l.c.Get(t.Context(), key, ep); err != nil {
			t.Fatal(err)
		}
		if err := l.c.Delete(t.Context(), ep); err != nil {
			t.Fatal(err)
		}
		eventually(t, "pool gone", func() error {
			if err := l.c.Get(t.Context(), key, &gatewayv1alpha1.TailscaleEndpoints{}); client.IgnoreNotFound(err) != nil || err == nil {
				return fmt.Errorf("still there: %v", err)
			}
			return nil
		})
		if live := l.liveKeys(t); len(live) != 0 {
			t.Errorf("keys left valid: %v", live)
		}
	})
}

func teamPool(namespace, name, tailnetName string, tag gatewayv1alpha1.Tag) *gatewayv1alpha1.TailscaleEndpoints {
	ep := webPool(name, tailnetName, 1)
	ep.Namespace = namespace
	ep.Spec.Tags = []gatewayv1alpha1.Tag{tag}
	return ep
}

// waitReadyFalse waits for the pool's Ready condition to be False for
// reason, and returns it.
func (l *lab) waitReadyFalse(t *testing.T, namespace, name, reason string) metav1.Condition {
	t.Helper()
	var got metav1.Condition
	eventually(t, fmt.Sprintf("%s/%s Ready=False/%s", namespace, name, reason), func() error {
		ep := &gatewayv1alpha1.TailscaleEndpoints{}
		if err := l.c.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: name}, ep); err != nil {
			return err
		}
		c := meta.FindStatusCondition(ep.Status.Conditions, gatewayv1alpha1.ConditionReady)
		if c == nil || c.Status != metav1.ConditionFalse || c.Reason != reason {
			return fmt.Errorf("Ready is %+v", c)
		}
		got = *c
		return nil
	})
	return got
}

// nothingCreated checks that no key was minted since minted and that the
// namespace holds none of the objects a pool has. The refusal is written
// in the reconcile that would have created them, so it has been seen.
func (l *lab) nothingCreated(t *testing.T, namespace string, minted int) {
	t.Helper()
	if n := l.keysMinted() - minted; n != 0 {
		t.Errorf("minted %d auth keys for a refused pool", n)
	}
	for _, list := range []client.ObjectList{
		&appsv1.StatefulSetList{}, &corev1.SecretList{}, &corev1.ServiceAccountList{}, &corev1.ServiceList{},
		&rbacv1.RoleList{}, &rbacv1.RoleBindingList{}, &policyv1.PodDisruptionBudgetList{},
	} {
		if err := l.c.List(t.Context(), list, client.InNamespace(namespace)); err != nil {
			t.Fatal(err)
		}
		if n := meta.LenList(list); n != 0 {
			t.Errorf("%T in %s has %d items for a refused pool", list, namespace, n)
		}
	}
}

// warnedOnce checks that the pool has exactly one Warning of reason.
func (l *lab) warnedOnce(namespace, name, reason string) error {
	list := &eventsv1.EventList{}
	if err := l.c.List(context.Background(), list, client.InNamespace(namespace)); err != nil {
		return err
	}
	n := 0
	for _, e := range list.Items {
		if e.Regarding.Name == name && e.Reason == reason && e.Type == corev1.EventTypeWarning {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("%d Warning events %s, want 1", n, reason)
	}
	return nil
}

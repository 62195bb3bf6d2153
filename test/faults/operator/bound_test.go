package operator_test

import (
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
)

// TestDeletionBoundedWhileTailnetDown: a pool and a TailscaleServices
// deleted while their tailnet's API stays blackholed are let go within
// the cleanup bound (plus one reconcile), each with a CleanupAbandoned
// Warning, so their namespace can go.
func TestDeletionBoundedWhileTailnetDown(t *testing.T) {
	c := startCluster(t)
	const ns = "bound"
	c.env.Namespace(t, ns)
	tn := c.addTailnet(ns)
	joinedPool(1)(c, tn, ns)
	c.create(serviceObject(ns, "s", "p", false))
	c.waitServiceCondition(ns, "s", gatewayv1alpha1.ConditionVIPServiceReady, metav1.ConditionTrue, time.Minute)

	tn.gate.setBlackhole(true)
	p, s := poolObject(ns, "p", "", 0), serviceObject(ns, "s", "", false)
	c.delete(s)
	c.delete(p)
	deleted := time.Now()
	c.eventually("both let go", cleanupBound+2*reconcileTimeout+15*time.Second, func() error {
		if err := c.gone(p); err != nil {
			return err
		}
		return c.gone(s)
	})
	if took := time.Since(deleted); took < cleanupBound {
		t.Errorf("let go after %s, before the bound of %s: the cleanup cannot have failed for that long", took, cleanupBound)
	}
	t.Logf("let go %s after the deletion (bound %s)", time.Since(deleted).Round(time.Second), cleanupBound)
	// Events are sent after the fact, asynchronously.
	for _, name := range []string{"p", "s"} {
		c.eventually(name+": a CleanupAbandoned Warning", 15*time.Second, func() error {
			if w := c.warnings(ns, name); !w["CleanupAbandoned"] {
				return fmt.Errorf("warnings %v", w)
			}
			return nil
		})
	}
}

package operator_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/apiemulator"
	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
)

// apiFault is one way a tailnet's API can fail.
type apiFault struct {
	name string
	on   func(*tailnetAPI)
	// words are what the condition of a service in that tailnet must say.
	words []string
}

var apiFaults = []apiFault{
	{"blackhole", func(tn *tailnetAPI) { tn.gate.setBlackhole(true) }, []string{"deadline"}},
	{"5xx", func(tn *tailnetAPI) { tn.failAll(apiemulator.Fault{Status: http.StatusServiceUnavailable}) }, []string{"503"}},
	{"429 for a day", func(tn *tailnetAPI) {
		tn.failAll(apiemulator.Fault{Status: http.StatusTooManyRequests, RetryAfter: 24 * time.Hour})
	}, []string{"429"}},
	{"revoked credentials", func(tn *tailnetAPI) { tn.failAll(apiemulator.Fault{Status: http.StatusUnauthorized}) }, []string{"401"}},
}

// failAll answers every API request (the token endpoint too) with f.
func (tn *tailnetAPI) failAll(f apiemulator.Fault) {
	for depth := 1; depth <= 6; depth++ {
		if err := tn.emu.SetFault("/api/v2"+strings.Repeat("/*", depth), f); err != nil {
			panic(err)
		}
	}
}

func (tn *tailnetAPI) heal() {
	tn.gate.setBlackhole(false)
	tn.emu.ClearFaults()
}

// TestAPIFaults: while one tailnet's API fails, every other tailnet's
// objects keep reconciling; the failing tailnet's objects say why; a
// deletion made during the fault finishes once the API is back, leaving
// nothing in the tailnet.
func TestAPIFaults(t *testing.T) {
	c := startCluster(t)
	for i, f := range apiFaults {
		t.Run(f.name, func(t *testing.T) {
			c.t = t
			ns := fmt.Sprintf("api-%d", i)
			c.env.Namespace(t, ns)
			good, bad := c.addTailnet(ns+"-good"), c.addTailnet(ns+"-bad")
			c.runAPIFault(ns, good, bad, f)
		})
	}
}

func (c *cluster) runAPIFault(ns string, good, bad *tailnetAPI, f apiFault) {
	// Before the fault: a pool and a service in each tailnet, machines joined.
	for _, side := range []string{"good", "bad"} {
		tn := map[string]*tailnetAPI{"good": good, "bad": bad}[side]
		c.backend(ns, side)
		c.create(poolObject(ns, side, ns+"-"+side, 1))
		c.create(serviceObject(ns, side, side, false))
		c.recordedDevice(ns, side, 0, c.join(tn, ns, side, 0))
		c.waitServiceCondition(ns, side, gatewayv1alpha1.ConditionVIPServiceReady, metav1.ConditionTrue, time.Minute)
	}
	f.on(bad)

	// Other tailnets keep reconciling: a new pool and service in the good one.
	c.backend(ns, "good2")
	c.create(poolObject(ns, "good2", ns+"-good", 1))
	c.create(serviceObject(ns, "good2", "good2", false))
	c.waitServiceCondition(ns, "good2", gatewayv1alpha1.ConditionVIPServiceReady, metav1.ConditionTrue, time.Minute)
	c.eventually("auth key of good2-0", time.Minute, func() error {
		_, err := c.secret(ns, pool.AuthKeySecretName(pool.PodName("good2", 0)))
		return err
	})

	// The failing tailnet's new service says why.
	c.create(serviceObject(ns, "bad2", "bad", false))
	cond := c.waitServiceCondition(ns, "bad2", gatewayv1alpha1.ConditionVIPServiceReady, metav1.ConditionFalse, 2*reconcileTimeout+time.Minute, f.words...)
	if len(cond.Message) > gatewayv1alpha1.MaxMessage {
		c.t.Errorf("condition message of %d bytes", len(cond.Message))
	}

	// Deleted during the fault: held (the cleanup failed, a Warning says
	// so), then, with the API back within the bound, cleaned up for real.
	badPool, badSvc, badSvc2 := poolObject(ns, "bad", "", 0), serviceObject(ns, "bad", "", false), serviceObject(ns, "bad2", "", false)
	c.delete(badSvc)
	c.delete(badSvc2)
	c.delete(badPool)
	c.eventually("a Warning that the pool's cleanup is blocked", cleanupBound, func() error {
		if !c.warnings(ns, "bad")["CleanupBlocked"] {
			return fmt.Errorf("no CleanupBlocked Warning yet")
		}
		return nil
	})
	bad.heal()
	c.eventually("the deleted objects gone", cleanupBound+reconcileTimeout+30*time.Second, func() error {
		for _, err := range []error{c.gone(badPool), c.gone(badSvc), c.gone(badSvc2)} {
			if err != nil {
				return err
			}
		}
		return nil
	})
	c.eventually("nothing left in the failed tailnet", 30*time.Second, func() error {
		inv, err := bad.inventory()
		if err != nil {
			return err
		}
		return inv.empty()
	})
	if w := c.warnings(ns, "bad"); w["CleanupAbandoned"] {
		c.t.Errorf("the pool's cleanup was abandoned although the API came back within the bound")
	}
	// The good tailnet kept what it had.
	inv, err := good.inventory()
	if err != nil {
		c.t.Fatal(err)
	}
	if len(inv.vipServices) != 2 || len(inv.devices) != 1 {
		c.t.Errorf("good tailnet: %+v, want 2 VIP services and 1 device", inv)
	}
}

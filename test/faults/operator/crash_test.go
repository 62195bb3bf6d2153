package operator_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tailscale-gateway/tailscale-gateway/internal/kubetest"
	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale/hujson"
)

// convergence is how long the restarted operator has to repair what its
// death left: its start-up and two resyncs of the services controller
// (10 s each), with a margin for a loaded machine.
const convergence = 60 * time.Second

// crashCase kills the operator right after one kind of external write.
type crashCase struct {
	name  string
	write func(*http.Request) bool
	// setup runs before the write is armed; act causes the write; check
	// is the pass criterion once the restarted operator has converged.
	setup, act func(c *cluster, tn *tailnetAPI, ns string)
	check      func(c *cluster, tn *tailnetAPI, ns string) error
}

var crashCases = []crashCase{
	{
		name: "after creating an auth key",
		write: func(r *http.Request) bool {
			return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/keys")
		},
		setup: func(c *cluster, _ *tailnetAPI, ns string) { c.backend(ns, "p") },
		act:   func(c *cluster, _ *tailnetAPI, ns string) { c.create(poolObject(ns, "p", ns, 1)) },
		check: func(c *cluster, tn *tailnetAPI, ns string) error {
			if _, err := c.secret(ns, pool.AuthKeySecretName(pool.PodName("p", 0))); err != nil {
				return err
			}
			return c.everyKeyHeld(tn, ns)
		},
	},
	{
		name: "after putting the VIP service",
		write: func(r *http.Request) bool {
			return r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/vip-services/")
		},
		setup: joinedPool(1),
		act:   func(c *cluster, _ *tailnetAPI, ns string) { c.create(serviceObject(ns, "s", "p", false)) },
		check: func(c *cluster, tn *tailnetAPI, ns string) error {
			if err := c.serviceRegistered(ns, "s"); err != nil {
				return err
			}
			if got := vipServiceNames(tn); !slices.Equal(got, []string{"svc:s"}) {
				return fmt.Errorf("VIP services %v, want [svc:s]", got)
			}
			return c.everyKeyHeld(tn, ns)
		},
	},
	{
		name: "after setting the policy",
		write: func(r *http.Request) bool {
			return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/acl")
		},
		setup: joinedPool(1),
		act:   func(c *cluster, _ *tailnetAPI, ns string) { c.create(serviceObject(ns, "s", "p", true)) },
		check: func(c *cluster, tn *tailnetAPI, ns string) error {
			if err := c.serviceRegistered(ns, "s"); err != nil {
				return err
			}
			return policyDiffersOnlyBy(tn, "svc:s", []string{poolTag})
		},
	},
	{
		name: "after deleting a device",
		write: func(r *http.Request) bool {
			return r.Method == http.MethodDelete && strings.HasPrefix(r.URL.Path, "/api/v2/device/")
		},
		setup: joinedPool(2),
		act: func(c *cluster, _ *tailnetAPI, ns string) {
			err := kubetest.Update(context.Background(), c.c, client.ObjectKey{Namespace: ns, Name: "p"}, func(ep *gatewayv1alpha1.TailscaleEndpoints) {
				ep.Spec.Proxy.Replicas = ptr.To[int32](1)
			})
			if err != nil {
				c.t.Fatal(err)
			}
		},
		check: func(c *cluster, tn *tailnetAPI, ns string) error {
			inv, err := tn.inventory()
			if err != nil {
				return err
			}
			key, err := c.secret(ns, pool.AuthKeySecretName(pool.PodName("p", 0)))
			if err != nil {
				return err
			}
			if want := []string{string(key.Data[pool.HostnameKey])}; !slices.Equal(inv.devices, want) {
				return fmt.Errorf("devices %v, want only machine 0's %v", inv.devices, want)
			}
			if err := c.gone(secretNamed(ns, pool.AuthKeySecretName(pool.PodName("p", 1)))); err != nil {
				return err
			}
			return c.everyKeyHeld(tn, ns)
		},
	},
}

// TestOperatorKilledAfterWrite: the operator is killed (SIGKILL) right
// after each kind of write to the Tailscale API, before it reads the
// answer; restarted, it converges: no duplicate device, every live key
// held by a Secret, the policy changed only by the intended approver.
func TestOperatorKilledAfterWrite(t *testing.T) {
	c := startCluster(t)
	for i, cc := range crashCases {
		t.Run(cc.name, func(t *testing.T) {
			c.t = t
			ns := fmt.Sprintf("crash-%d", i)
			c.env.Namespace(t, ns)
			tn := c.addTailnet(ns)
			cc.setup(c, tn, ns)
			killed := make(chan struct{})
			tn.gate.setAfter(func(r *http.Request) bool {
				if !cc.write(r) {
					return false
				}
				c.op.kill()
				close(killed)
				return true
			})
			cc.act(c, tn, ns)
			select {
			case <-killed:
			case <-time.After(time.Minute):
				t.Fatal("the write never came")
			}
			c.op.start()
			c.eventually("convergence after the restart", convergence, func() error { return cc.check(c, tn, ns) })
		})
	}
}

// joinedPool makes pool p of replicas machines in the namespace's tailnet
// (named like the namespace), every machine joined and its device recorded.
func joinedPool(replicas int32) func(c *cluster, tn *tailnetAPI, ns string) {
	return func(c *cluster, tn *tailnetAPI, ns string) {
		c.backend(ns, "p")
		c.create(poolObject(ns, "p", ns, replicas))
		for i := range int(replicas) {
			c.recordedDevice(ns, "p", i, c.join(tn, ns, "p", i))
		}
	}
}

func (c *cluster) serviceRegistered(ns, name string) error {
	ts, err := c.service(ns, name)
	if err != nil {
		return err
	}
	return conditionIs(ts.Status.Conditions, gatewayv1alpha1.ConditionVIPServiceReady, metav1.ConditionTrue)
}

func vipServiceNames(tn *tailnetAPI) []string {
	var out []string
	for _, s := range tn.emu.VIPServices() {
		out = append(out, s.Name)
	}
	slices.Sort(out)
	return out
}

// policyDiffersOnlyBy is nil when the tailnet's policy is the seed policy
// plus autoApprovers.services[service] = tags, and nothing else changed.
func policyDiffersOnlyBy(tn *tailnetAPI, service string, tags []string) error {
	doc, _ := tn.emu.Policy()
	now, err := policyTree(doc)
	if err != nil {
		return err
	}
	seed, err := policyTree([]byte(seedPolicy))
	if err != nil {
		return err
	}
	approvers, _ := now["autoApprovers"].(map[string]any)
	services, _ := approvers["services"].(map[string]any)
	got := fmt.Sprint(services[service])
	if want := fmt.Sprint(toAny(tags)); got != want {
		return fmt.Errorf("autoApprovers.services[%s] = %s, want %s", service, got, want)
	}
	delete(services, service)
	if !reflect.DeepEqual(now, seed) {
		return fmt.Errorf("the policy changed beyond %s's approver:\n%s", service, doc)
	}
	return nil
}

func policyTree(doc []byte) (map[string]any, error) {
	std, err := hujson.Standardize(doc)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	return out, json.Unmarshal(std, &out)
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func secretNamed(ns, name string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
}

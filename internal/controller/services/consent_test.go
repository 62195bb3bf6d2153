package services_test

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/apiemulator"
	"github.com/tailscale-gateway/tailscale-gateway/internal/coordination"
	"github.com/tailscale-gateway/tailscale-gateway/internal/kubetest"
	"github.com/tailscale-gateway/tailscale-gateway/internal/planner"
	"github.com/tailscale-gateway/tailscale-gateway/internal/proxyconfig"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tsapi"
)

// servesInCluster is true when the pool's configuration has the VIP
// service's port 80, so the configuration was rendered with the
// TailscaleServices in it (whether or not it advertises it).
func servesInCluster(cfg *proxyconfig.Config, vip string) bool {
	return cfg != nil && slices.ContainsFunc(cfg.Services, func(s proxyconfig.Service) bool { return s.Name == planner.VIPServiceKey(vip, 80) })
}

func conditionMessage(ts *gatewayv1alpha1.TailscaleServices, typ string) string {
	if c := meta.FindStatusCondition(ts.Status.Conditions, typ); c != nil {
		return c.Message
	}
	return ""
}

// warnings counts the Warning events of a reason about a TailscaleServices.
func (f *fixture) warnings(ctx context.Context, namespace, name, reason string) int {
	var list eventsv1.EventList
	if err := f.env.Client.List(ctx, &list, client.InNamespace(namespace)); err != nil {
		return -1
	}
	n := 0
	for _, e := range list.Items {
		if e.Regarding.Name == name && e.Reason == reason && e.Type == "Warning" {
			n++
		}
	}
	return n
}

// Another cluster's TailscaleServices with the same VIP service name and
// no consent on either side is a Conflict: it names the owner and the
// fields that would allow sharing, writes nothing to the service, and its
// pool never advertises the service.
func TestSameNameWithoutConsentIsAConflict(t *testing.T) {
	a := start(t)
	b := startCluster(t, a.emu, a.apiURL, "operator-b")
	a.pool(t, "db-a", "east", "127.0.0.1:15432", 1)
	b.pool(t, "db-b", "west", "127.0.0.1:15433", 3)

	a.create(t, private("db"))
	eventually(t, "operator-a owns the service, its entry naming its machines", func(ctx context.Context) (bool, string) {
		reg, err := a.registry(ctx, "svc:shared-database")
		return err == nil && reg.Owner.OperatorID == "operator-a" && slices.Equal(reg.Owner.Devices, []string{"n-db-a-0", "n-db-a-1"}),
			reg.Render() + fmt.Sprint(err)
	})
	eventually(t, "operator-a's pool hosts it", func(ctx context.Context) (bool, string) {
		c := a.proxyConfig(ctx, "db-a")
		return c != nil && hostsVIP(c, "svc:shared-database"), "not yet"
	})
	before, err := a.api.GetVIPService(t.Context(), "svc:shared-database")
	if err != nil {
		t.Fatal(err)
	}

	b.create(t, private("db"))
	eventually(t, "operator-b reports a Conflict naming the owner and the fields on both sides", func(ctx context.Context) (bool, string) {
		ts := b.get(ctx, "db")
		msg := conditionMessage(ts, "VIPServiceReady")
		ok := condition(ts, "VIPServiceReady") == "False/Conflict" &&
			strings.Contains(msg, "owned by TailscaleServices default/db of operator operator-a") &&
			strings.Contains(msg, "spec.vipService.sharing.allow: true on TailscaleServices default/db of operator operator-a") &&
			strings.Contains(msg, "spec.vipService.sharing.join: true here")
		return ok, condition(ts, "VIPServiceReady") + ": " + msg
	})
	eventually(t, "operator-b's pool serves it in its cluster only", func(ctx context.Context) (bool, string) {
		c := b.proxyConfig(ctx, "db-b")
		return servesInCluster(c, "svc:shared-database"), "not rendered yet"
	})
	if c := b.proxyConfig(t.Context(), "db-b"); hostsVIP(c, "svc:shared-database") {
		t.Error("operator-b's pool advertises a service it may not share")
	}
	eventually(t, "one Warning event", func(ctx context.Context) (bool, string) {
		n := b.warnings(ctx, ns, "db", "VIPServiceConflict")
		return n == 1, fmt.Sprint(n)
	})
	after, err := a.api.GetVIPService(t.Context(), "svc:shared-database")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(before, after) {
		t.Errorf("the refused operator changed the service:\nbefore %+v\nafter  %+v", before, after)
	}
	if n := b.warnings(t.Context(), ns, "db", "VIPServiceConflict"); n != 1 {
		t.Errorf("%d Warning events for a standing Conflict, want 1", n)
	}

	// Deleting the refused one leaves the owner's service alone.
	if err := b.env.Client.Delete(t.Context(), b.get(t.Context(), "db")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the refused object goes", func(ctx context.Context) (bool, string) {
		err := b.env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "db"}, &gatewayv1alpha1.TailscaleServices{})
		return client.IgnoreNotFound(err) == nil && err != nil, fmt.Sprint(err)
	})
	if after, err := a.api.GetVIPService(t.Context(), "svc:shared-database"); err != nil || !reflect.DeepEqual(before, after) {
		t.Errorf("deleting the refused object touched the owner's service: %v %+v", err, after)
	}
}

// Two namespaces of one cluster: the same name is a Conflict until both
// consent; then they share it; when the owner withdraws its consent the
// joiner reports a Conflict, takes its own entry out and stops hosting,
// and the service stays.
func TestTwoNamespacesShareOnlyByConsent(t *testing.T) {
	f := start(t)
	f.env.Namespace(t, "other")
	f.pool(t, "db-a", "east", "127.0.0.1:15432", 1)
	f.poolIn(t, "other", "db-o", "west", "127.0.0.1:15433", 5)
	f.create(t, private("db"))
	eventually(t, "default/db owns the service", func(ctx context.Context) (bool, string) {
		reg, err := f.registry(ctx, "svc:shared-database")
		return err == nil && reg.Owner.Object == "default/db", reg.Render() + fmt.Sprint(err)
	})
	joiner := private("db")
	joiner.Namespace = "other"
	f.create(t, joiner)
	eventually(t, "other/db: Conflict", func(ctx context.Context) (bool, string) {
		c := condition(f.getIn(ctx, "other", "db"), "VIPServiceReady")
		return c == "False/Conflict", c
	})
	if reg, err := f.registry(t.Context(), "svc:shared-database"); err != nil || len(reg.Consumers) != 0 {
		t.Errorf("the refused namespace is in the registry: %s %v", reg.Render(), err)
	}

	setSharing := func(namespace string, s *gatewayv1alpha1.VIPServiceSharing) {
		t.Helper()
		if err := kubetest.Update(t.Context(), f.env.Client, client.ObjectKey{Namespace: namespace, Name: "db"}, func(ts *gatewayv1alpha1.TailscaleServices) {
			ts.Spec.VIPService.Sharing = s
		}); err != nil {
			t.Fatal(err)
		}
	}
	setSharing(ns, &gatewayv1alpha1.VIPServiceSharing{Allow: true})
	setSharing("other", &gatewayv1alpha1.VIPServiceSharing{Join: true})
	eventually(t, "with consent on both sides other/db joins, and both pools host the service", func(ctx context.Context) (bool, string) {
		reg, err := f.registry(ctx, "svc:shared-database")
		joined := err == nil && reg.Owner.Object == "default/db" && reg.Owner.Sharing && len(reg.Consumers) == 1 && reg.Consumers[0].Object == "other/db"
		ca, co := f.proxyConfig(ctx, "db-a"), f.proxyConfigIn(ctx, "other", "db-o")
		return joined && condition(f.getIn(ctx, "other", "db"), "VIPServiceReady") == "True/Registered" &&
			ca != nil && co != nil && hostsVIP(ca, "svc:shared-database") && hostsVIP(co, "svc:shared-database"), reg.Render()
	})

	setSharing(ns, nil)
	eventually(t, "consent withdrawn: other/db reports a Conflict, leaves the registry and stops hosting", func(ctx context.Context) (bool, string) {
		reg, err := f.registry(ctx, "svc:shared-database")
		co := f.proxyConfigIn(ctx, "other", "db-o")
		ts := f.getIn(ctx, "other", "db")
		return err == nil && reg.Owner.Object == "default/db" && !reg.Owner.Sharing && len(reg.Consumers) == 0 &&
				condition(ts, "VIPServiceReady") == "False/Conflict" && strings.Contains(conditionMessage(ts, "VIPServiceReady"), "took its own entry out") &&
				servesInCluster(co, "svc:shared-database") && !hostsVIP(co, "svc:shared-database"),
			reg.Render() + " " + condition(ts, "VIPServiceReady")
	})
	if c := f.proxyConfig(t.Context(), "db-a"); !hostsVIP(c, "svc:shared-database") {
		t.Error("the owner's pool stopped hosting its own service")
	}
}

// A service made outside Tailscale Gateway and used as it is through
// discovery is not ours: autoApprove leaves the tailnet policy alone and
// the condition says approval is up to the service's owner.
func TestAutoApproveLeavesAServiceUsedAsItIsToItsOwner(t *testing.T) {
	f := start(t)
	handMade := tsapi.VIPService{Name: "svc:database", Comment: "by hand", Ports: []string{"tcp:80"}, Tags: []string{"tag:shared-infrastructure"}}
	if _, err := f.api.PutVIPService(t.Context(), handMade); err != nil {
		t.Fatal(err)
	}
	f.pool(t, "db-a", "east", "127.0.0.1:15432", 1)
	policy, etag := f.emu.Policy()
	f.create(t, &gatewayv1alpha1.TailscaleServices{
		ObjectMeta: metav1.ObjectMeta{Name: "finder", Namespace: ns},
		Spec: gatewayv1alpha1.TailscaleServicesSpec{
			Selector:   metav1.LabelSelector{MatchLabels: map[string]string{"service-type": "web"}},
			VIPService: &gatewayv1alpha1.VIPServiceSpec{AutoApprove: true},
			ServiceDiscovery: &gatewayv1alpha1.ServiceDiscoverySpec{DiscoverVIPServices: true,
				VIPServiceSelector: &gatewayv1alpha1.VIPServiceSelector{Tags: []gatewayv1alpha1.Tag{"tag:shared-infrastructure"}}},
		},
	})
	eventually(t, "used as it is; the condition says approval is up to its owner; the pool hosts it", func(ctx context.Context) (bool, string) {
		ts := f.get(ctx, "finder")
		msg := conditionMessage(ts, "VIPServiceReady")
		c := f.proxyConfig(ctx, "db-a")
		return condition(ts, "VIPServiceReady") == "True/Registered" && strings.Contains(msg, "up to the service's owner") &&
			c != nil && hostsVIP(c, "svc:database"), msg
	})
	if after, afterTag := f.emu.Policy(); !bytes.Equal(policy, after) || etag != afterTag {
		t.Errorf("autoApprove edited the policy for a service it does not own:\n%s", after)
	}
}

// An entry its operator stopped refreshing is no proof that nobody serves
// the service: a departing owner deletes it only when no device named by
// another entry is still connected or was seen within coordination.Expiry.
func TestADepartingOwnerKeepsAServiceAStaleEntrysDeviceServes(t *testing.T) {
	f := start(t)
	f.pool(t, "db-a", "east", "127.0.0.1:15432", 1)
	f.emu.AddDevice(apiemulator.Device{ID: "1001", NodeID: "nStillServing", Name: "db-x-0.tail-test.ts.net", Hostname: "db-x-0",
		Tags: []string{"tag:web"}, Authorized: true, ConnectedToControl: true, Created: time.Now().Add(-time.Hour)})
	f.emu.AddDevice(apiemulator.Device{ID: "1002", NodeID: "nLongGone", Name: "db-y-0.tail-test.ts.net", Hostname: "db-y-0",
		Tags: []string{"tag:web"}, Authorized: true, LastSeen: time.Now().Add(-2 * coordination.Expiry), Created: time.Now().Add(-3 * time.Hour)})

	for _, tc := range []struct {
		name     string
		device   string
		wantKept bool
	}{
		{"kept", "nStillServing", true},
		{"gone", "nLongGone", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vip := "svc:stale-" + tc.name
			ts := sharing("stale-" + tc.name)
			ts.Spec.VIPService.Name = gatewayv1alpha1.VIPServiceName(vip)
			f.create(t, ts)
			eventually(t, "operator-a owns it", func(ctx context.Context) (bool, string) {
				reg, err := f.registry(ctx, vip)
				return err == nil && reg.Owner.OperatorID == "operator-a", fmt.Sprint(err)
			})
			// An operator that joined long ago and has been down since:
			// its entry is stale, its machine named in it.
			down := coordination.Entry{OperatorID: "operator-down", Object: "shop/db", LastSeen: time.Now().Add(-2 * coordination.Expiry).UTC().Truncate(time.Second),
				Devices: []string{tc.device}}
			svc, err := f.api.GetVIPService(t.Context(), vip)
			if err != nil {
				t.Fatal(err)
			}
			reg, _, _ := coordination.Parse(svc.Annotations)
			reg.Consumers = append(reg.Consumers, down)
			svc.Annotations[coordination.Annotation] = reg.Render()
			if _, err := f.api.PutVIPService(t.Context(), svc); err != nil {
				t.Fatal(err)
			}
			eventually(t, "the live owner keeps the stale entry", func(ctx context.Context) (bool, string) {
				reg, err := f.registry(ctx, vip)
				return err == nil && reg.Has(down) && reg.Owner.OperatorID == "operator-a", reg.Render()
			})

			if err := f.env.Client.Delete(t.Context(), f.get(t.Context(), ts.Name)); err != nil {
				t.Fatal(err)
			}
			eventually(t, "the owner's object goes", func(ctx context.Context) (bool, string) {
				err := f.env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: ts.Name}, &gatewayv1alpha1.TailscaleServices{})
				return client.IgnoreNotFound(err) == nil && err != nil, fmt.Sprint(err)
			})
			left, err := f.api.GetVIPService(t.Context(), vip)
			if !tc.wantKept {
				if !tsapi.IsNotFound(err) {
					t.Errorf("the stale entry's device is long gone, yet the service was kept: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("the service was deleted while a stale entry's device still serves it: %v", err)
			}
			reg, _, err = coordination.Parse(left.Annotations)
			if err != nil || reg.Owner.OperatorID != "operator-down" || len(reg.Consumers) != 0 {
				t.Errorf("registry left behind: %s %v; want only the stale entry, now owner", reg.Render(), err)
			}
		})
	}
}

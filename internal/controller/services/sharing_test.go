package services_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/coordination"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tsapi"
)

// sharing is a TailscaleServices for svc:shared-database that lets others
// join it and asks to join it: every party to a shared service says both,
// so whichever comes first owns it.
func sharing(name string) *gatewayv1alpha1.TailscaleServices {
	ts := private(name)
	ts.Spec.VIPService.Sharing = &gatewayv1alpha1.VIPServiceSharing{Allow: true, Join: true}
	return ts
}

// private is a TailscaleServices for svc:shared-database that neither
// allows nor asks for sharing, though it discovers VIP services: discovery
// alone is no consent.
func private(name string) *gatewayv1alpha1.TailscaleServices {
	return &gatewayv1alpha1.TailscaleServices{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: gatewayv1alpha1.TailscaleServicesSpec{
			Selector:         metav1.LabelSelector{MatchLabels: map[string]string{"service-type": "web"}},
			VIPService:       &gatewayv1alpha1.VIPServiceSpec{Name: "svc:shared-database", Ports: []gatewayv1alpha1.VIPServicePort{"tcp:80"}},
			ServiceDiscovery: &gatewayv1alpha1.ServiceDiscoverySpec{DiscoverVIPServices: true},
		},
	}
}

func (f *fixture) registry(ctx context.Context, name string) (coordination.Registry, error) {
	svc, err := f.api.GetVIPService(ctx, name)
	if err != nil {
		return coordination.Registry{}, err
	}
	reg, _, err := coordination.Parse(svc.Annotations)
	return reg, err
}

func ids(reg coordination.Registry) string {
	var c []string
	for _, e := range reg.Consumers {
		c = append(c, e.OperatorID)
	}
	return fmt.Sprintf("owner=%s consumers=%v", reg.Owner.OperatorID, c)
}

// Two operators (two API servers) on one tailnet share one VIP service by
// consent (both allow and join): the first creates and owns, the second
// attaches; when the owner leaves the other becomes owner; the last one
// out deletes it.
func TestTwoOperatorsShareOneService(t *testing.T) {
	a := start(t)
	b := startCluster(t, a.emu, a.apiURL, "operator-b")
	a.pool(t, "db-a", "east", "127.0.0.1:15432", 1)
	b.pool(t, "db-b", "west", "127.0.0.1:15433", 3)

	a.create(t, sharing("db"))
	eventually(t, "operator-a owns the service", func(ctx context.Context) (bool, string) {
		reg, err := a.registry(ctx, "svc:shared-database")
		return err == nil && reg.Owner.OperatorID == "operator-a", fmt.Sprint(err)
	})
	b.create(t, sharing("db"))
	eventually(t, "operator-b attaches as consumer; both see it in status", func(ctx context.Context) (bool, string) {
		reg, err := a.registry(ctx, "svc:shared-database")
		ia, ib := a.get(ctx, "db").Status.ServiceInfo, b.get(ctx, "db").Status.ServiceInfo
		ok := err == nil && reg.Owner.OperatorID == "operator-a" && len(reg.Consumers) == 1 && reg.Consumers[0].OperatorID == "operator-b" &&
			ia != nil && ib != nil && ib.MultiOperatorService && ib.OwnerOperator == "operator-a" && slices.Equal(ib.ConsumerOperators, []string{"operator-b"})
		return ok, ids(reg)
	})
	eventually(t, "both operators' pools host it", func(ctx context.Context) (bool, string) {
		ca, cb := a.proxyConfig(ctx, "db-a"), b.proxyConfig(ctx, "db-b")
		return ca != nil && cb != nil && hostsVIP(ca, "svc:shared-database") && hostsVIP(cb, "svc:shared-database"), "not yet"
	})

	if err := a.env.Client.Delete(t.Context(), a.get(t.Context(), "db")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the owner left: operator-b owns it, and it still exists", func(ctx context.Context) (bool, string) {
		reg, err := a.registry(ctx, "svc:shared-database")
		return err == nil && reg.Owner.OperatorID == "operator-b" && len(reg.Consumers) == 0, ids(reg) + fmt.Sprint(err)
	})
	if err := b.env.Client.Delete(t.Context(), b.get(t.Context(), "db")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the last one out deleted it", func(ctx context.Context) (bool, string) {
		_, err := a.api.GetVIPService(ctx, "svc:shared-database")
		return tsapi.IsNotFound(err), fmt.Sprint(err)
	})
}

func TestDiscoveryAttachesWithoutOverwriting(t *testing.T) {
	f := start(t)
	handMade := tsapi.VIPService{Name: "svc:database", Comment: "by hand", Ports: []string{"tcp:5432"}, Tags: []string{"tag:shared-infrastructure"}}
	if _, err := f.api.PutVIPService(t.Context(), handMade); err != nil {
		t.Fatal(err)
	}
	f.pool(t, "db-a", "east", "127.0.0.1:15432", 1)
	ts := &gatewayv1alpha1.TailscaleServices{
		ObjectMeta: metav1.ObjectMeta{Name: "finder", Namespace: ns},
		Spec: gatewayv1alpha1.TailscaleServicesSpec{
			Selector: metav1.LabelSelector{MatchLabels: map[string]string{"service-type": "web"}},
			ServiceDiscovery: &gatewayv1alpha1.ServiceDiscoverySpec{DiscoverVIPServices: true,
				VIPServiceSelector: &gatewayv1alpha1.VIPServiceSelector{Tags: []gatewayv1alpha1.Tag{"tag:shared-infrastructure"}}},
		},
	}
	f.create(t, ts)
	eventually(t, "attached to the one matching service", func(ctx context.Context) (bool, string) {
		got := f.get(ctx, "finder")
		vs := got.Status.VIPServiceStatus
		return condition(got, "Discovered") == "True/Matched" && vs != nil && vs.ServiceName == "svc:database" && vs.Created,
			condition(got, "Discovered") + " " + condition(got, "VIPServiceReady")
	})
	eventually(t, "the pool hosts the discovered service", func(ctx context.Context) (bool, string) {
		c := f.proxyConfig(ctx, "db-a")
		return c != nil && hostsVIP(c, "svc:database"), "not yet"
	})
	got, err := f.api.GetVIPService(t.Context(), "svc:database")
	if err != nil {
		t.Fatal(err)
	}
	if got.Comment != "by hand" || !slices.Equal(got.Ports, []string{"tcp:5432"}) || len(got.Annotations) != 0 {
		t.Errorf("discovery changed the service it attached to: %+v", got)
	}
	if _, err := f.api.GetVIPService(t.Context(), "svc:finder"); !tsapi.IsNotFound(err) {
		t.Errorf("discovery created svc:finder as well: %v", err)
	}

	t.Run("two matches are ambiguous: no action", func(t *testing.T) {
		second := handMade
		second.Name = "svc:database-2"
		if _, err := f.api.PutVIPService(t.Context(), second); err != nil {
			t.Fatal(err)
		}
		amb := ts.DeepCopy()
		amb.ObjectMeta = metav1.ObjectMeta{Name: "ambiguous", Namespace: ns}
		f.create(t, amb)
		eventually(t, "AmbiguousDiscovery", func(ctx context.Context) (bool, string) {
			c := condition(f.get(ctx, "ambiguous"), "VIPServiceReady")
			return c == "False/AmbiguousDiscovery", c
		})
		if _, err := f.api.GetVIPService(t.Context(), "svc:ambiguous"); !tsapi.IsNotFound(err) {
			t.Errorf("an ambiguous discovery created a service: %v", err)
		}
	})

	t.Run("deleting leaves the discovered service", func(t *testing.T) {
		if err := f.env.Client.Delete(t.Context(), f.get(t.Context(), "finder")); err != nil {
			t.Fatal(err)
		}
		eventually(t, "object gone", func(ctx context.Context) (bool, string) {
			err := f.env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "finder"}, &gatewayv1alpha1.TailscaleServices{})
			return err != nil && client.IgnoreNotFound(err) == nil, fmt.Sprint(err)
		})
		if _, err := f.api.GetVIPService(t.Context(), "svc:database"); err != nil {
			t.Errorf("the discovered service was deleted: %v", err)
		}
	})
}

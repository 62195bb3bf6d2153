package hostile_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/apiemulator"
	"github.com/tailscale-gateway/tailscale-gateway/internal/coordination"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tsapi"
)

// A VIP service's annotations are written by whoever holds the tailnet's
// API, so the registry annotation there may be anything. A
// TailscaleServices that would own, join or (through discovery) attach to
// a service whose registry is huge or malformed gets a False
// VIPServiceReady condition naming the annotation, nothing panics, and
// the service is neither written nor deleted, not even when the
// TailscaleServices goes away.
func TestHostileRegistryAnnotations(t *testing.T) {
	l := start(t)
	l.createPool("web")
	foreign := map[string]string{
		// 256 KiB of a registry in form, whose owner allows sharing: read
		// as it is, it would let a TailscaleServices that asks join it.
		"svc:huge":      hugeRegistry(256 << 10),
		"svc:malformed": `{"owner": {"operatorID": "other-op", "object": "shop/web", "sharing": true`,
		"svc:wrongtype": `{"owner": "other-op", "consumers": 7}`,
	}
	for name, registry := range foreign {
		// Each its own tag, which discovery can select it by.
		tag := "tag:" + strings.TrimPrefix(name, "svc:")
		if _, err := l.api.PutVIPService(context.Background(), tsapi.VIPService{Name: name, Comment: "another team's",
			Ports: []string{"tcp:80"}, Tags: []string{tag},
			Annotations: map[string]string{coordination.Annotation: registry, "team": "other"}}); err != nil {
			t.Fatalf("seeding %s: %v", name, err)
		}
	}
	before := l.emu.VIPServices()
	l.emu.ResetRequests()

	join := &gatewayv1alpha1.VIPServiceSharing{Join: true}
	for _, tc := range []struct {
		name string
		vip  string
		spec func(*gatewayv1alpha1.TailscaleServicesSpec)
	}{
		{"joins a huge registry", "svc:huge", func(s *gatewayv1alpha1.TailscaleServicesSpec) { s.VIPService.Sharing = join }},
		{"owns a malformed registry", "svc:malformed", func(*gatewayv1alpha1.TailscaleServicesSpec) {}},
		{"joins a malformed registry", "svc:malformed", func(s *gatewayv1alpha1.TailscaleServicesSpec) { s.VIPService.Sharing = join }},
		{"joins a registry of the wrong shape", "svc:wrongtype", func(s *gatewayv1alpha1.TailscaleServicesSpec) { s.VIPService.Sharing = join }},
		{"discovers a malformed registry", "svc:malformed", func(s *gatewayv1alpha1.TailscaleServicesSpec) {
			s.VIPService.Name = ""
			s.ServiceDiscovery = &gatewayv1alpha1.ServiceDiscoverySpec{DiscoverVIPServices: true,
				VIPServiceSelector: &gatewayv1alpha1.VIPServiceSelector{Tags: []gatewayv1alpha1.Tag{"tag:malformed"}}}
		}},
		{"discovers a huge registry by name", "svc:huge", func(s *gatewayv1alpha1.TailscaleServicesSpec) {
			s.ServiceDiscovery = &gatewayv1alpha1.ServiceDiscoverySpec{DiscoverVIPServices: true,
				VIPServiceSelector: &gatewayv1alpha1.VIPServiceSelector{ServiceNames: []gatewayv1alpha1.VIPServiceName{"svc:huge"}}}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := l.with(t)
			ts := &gatewayv1alpha1.TailscaleServices{
				ObjectMeta: metav1.ObjectMeta{Name: strings.ReplaceAll(tc.name, " ", "-"), Namespace: appNS},
				Spec: gatewayv1alpha1.TailscaleServicesSpec{
					Selector:   metav1.LabelSelector{MatchLabels: map[string]string{"hostile": "web"}},
					VIPService: &gatewayv1alpha1.VIPServiceSpec{Name: gatewayv1alpha1.VIPServiceName(tc.vip), Tags: []gatewayv1alpha1.Tag{poolTag}},
				},
			}
			tc.spec(&ts.Spec)
			l.create(ts)
			// Not the end of the test: what became of the services is
			// checked either way.
			err := await("VIPServiceReady False naming the annotation", func() error {
				if err := l.c.Get(context.Background(), client.ObjectKeyFromObject(ts), ts); err != nil {
					return err
				}
				return hasCondition(ts.Status.Conditions, gatewayv1alpha1.ConditionVIPServiceReady, metav1.ConditionFalse,
					tc.vip, coordination.Annotation)
			})
			if err != nil {
				t.Error(err)
			}
			bounded(t, "TailscaleServices "+ts.Name, ts.Status, ts.Status.Conditions)
			l.deleteAndWait(ts)
			l.untouched(before, foreign)
		})
	}
}

// untouched fails the test when a foreign service differs from before,
// or when anything asked the API to write one of them.
func (l *lab) untouched(before []apiemulator.VIPService, foreign map[string]string) {
	l.t.Helper()
	pick := func(all []apiemulator.VIPService) map[string]apiemulator.VIPService {
		out := map[string]apiemulator.VIPService{}
		for _, s := range all {
			if _, ok := foreign[s.Name]; ok {
				out[s.Name] = s
			}
		}
		return out
	}
	if b, a := pick(before), pick(l.emu.VIPServices()); !reflect.DeepEqual(b, a) {
		l.t.Errorf("the foreign VIP services changed:\nbefore %.500v\nafter  %.500v", b, a)
	}
	for _, r := range l.emu.WriteRequests() {
		for name := range foreign {
			if strings.HasSuffix(r.Path, "/vip-services/"+name) {
				l.t.Errorf("%s %s (status %d): a foreign VIP service was written to", r.Method, r.Path, r.Status)
			}
		}
	}
}

// hugeRegistry is a registry in form of about size bytes, whose owner
// (another operator) allows sharing, with as many consumers as fit.
func hugeRegistry(size int) string {
	r := coordination.Registry{Owner: coordination.Entry{OperatorID: "other-op", Object: "shop/web", Sharing: true}}
	for len(r.Render()) < size {
		for range 100 {
			i := len(r.Consumers)
			r.Consumers = append(r.Consumers, coordination.Entry{OperatorID: fmt.Sprintf("consumer-%05d", i), Object: "shop/web",
				Devices: []string{fmt.Sprintf("n%05d", i)}})
		}
	}
	return r.Render()
}

package services_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/kubetest"
	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tsapi"
)

// A tailnet shared by teams lets a namespace's TailscaleServices write to
// it only from the namespaces its access selects, with the tags it allows
// and VIP service names under the namespace's prefix; a refused service
// writes nothing to the tailnet and says which rule refused it.
func TestTailnetAccess(t *testing.T) {
	f := start(t)
	lab := &gatewayv1alpha1.TailscaleTailnet{}
	if err := f.env.Client.Get(t.Context(), client.ObjectKey{Name: "lab"}, lab); err != nil {
		t.Fatal(err)
	}
	for name, access := range map[string]*gatewayv1alpha1.TailnetAccess{
		"closed": nil,
		"shared": {
			NamespaceSelector:    metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}},
			Tags:                 []gatewayv1alpha1.Tag{"tag:web"},
			VIPServiceNamePrefix: "{namespace}-",
		},
	} {
		tn := &gatewayv1alpha1.TailscaleTailnet{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: *lab.Spec.DeepCopy()}
		tn.Spec.Access = access
		f.create(t, tn)
	}
	for ns, team := range map[string]string{"team-a": "a", "team-b": "b", "nobody": ""} {
		f.create(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"team": team}}})
	}
	f.teamPool(t, "nobody", "web", "closed", "tag:web")
	f.teamPool(t, "team-a", "web", "shared", "tag:web")
	f.teamPool(t, "team-a", "admin", "shared", "tag:admin")
	f.teamPool(t, "team-b", "web", "shared", "tag:web")
	// A VIP service another team made, which discovery would attach to.
	if _, err := f.api.PutVIPService(t.Context(), tsapi.VIPService{Name: "svc:shared-db", Ports: []string{"tcp:5432"}, Tags: []string{"tag:web"}}); err != nil {
		t.Fatal(err)
	}
	f.emu.ResetRequests()

	refused := []struct {
		name, namespace, vipName string
		tags                     []gatewayv1alpha1.Tag
		discover                 bool
		autoApprovePool          string // "": select the pool web, without autoApprove
		reason                   string
		says                     []string
	}{
		{"no access", "nobody", "svc:nobody-web", []gatewayv1alpha1.Tag{"tag:web"}, false, "", gatewayv1alpha1.ReasonAccessNotConfigured,
			[]string{"TailscaleTailnet closed has no spec.access", "set spec.access"}},
		{"namespace outside the selector", "team-b", "svc:team-b-web", []gatewayv1alpha1.Tag{"tag:web"}, false, "", gatewayv1alpha1.ReasonNamespaceNotAllowed,
			[]string{"namespace team-b is not selected by spec.access.namespaceSelector (team=a) of TailscaleTailnet shared"}},
		{"forbidden tag", "team-a", "svc:team-a-admin", []gatewayv1alpha1.Tag{"tag:web", "tag:admin"}, false, "", gatewayv1alpha1.ReasonTagNotAllowed,
			[]string{"spec.vipService.tags: tag:admin is not allowed by spec.access.tags of TailscaleTailnet shared"}},
		{"name outside the prefix", "team-a", "svc:team-b-db", nil, false, "", gatewayv1alpha1.ReasonNameNotAllowed,
			[]string{"VIP service svc:team-b-db does not start with svc:team-a-", "vipServiceNamePrefix", "TailscaleTailnet shared"}},
		{"discovered name outside the prefix", "team-a", "", nil, true, "", gatewayv1alpha1.ReasonNameNotAllowed,
			[]string{"VIP service svc:shared-db does not start with svc:team-a-"}},
		{"autoApprove for hosts with a forbidden tag", "team-a", "svc:team-a-admin", nil, false, "admin", gatewayv1alpha1.ReasonTagNotAllowed,
			[]string{"spec.tags of the selected pools (autoApprove writes them into the tailnet policy): tag:admin is not allowed"}},
	}
	for i, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			name := fmt.Sprintf("refused-%d", i)
			f.teamService(t, tc.namespace, name, tc.vipName, tc.tags, tc.discover, tc.autoApprovePool)
			var c *metav1.Condition
			eventually(t, "VIPServiceReady False/"+tc.reason, func(ctx context.Context) (bool, string) {
				ts := &gatewayv1alpha1.TailscaleServices{}
				_ = f.env.Client.Get(ctx, client.ObjectKey{Namespace: tc.namespace, Name: name}, ts)
				c = meta.FindStatusCondition(ts.Status.Conditions, gatewayv1alpha1.ConditionVIPServiceReady)
				return c != nil && c.Status == metav1.ConditionFalse && c.Reason == tc.reason, fmt.Sprintf("%+v", c)
			})
			for _, part := range append(tc.says, "Nothing is written to the tailnet") {
				if !strings.Contains(c.Message, part) {
					t.Errorf("message %q lacks %q", c.Message, part)
				}
			}
			if tc.vipName != "" {
				if _, err := f.api.GetVIPService(t.Context(), tc.vipName); !tsapi.IsNotFound(err) {
					t.Errorf("%s in the tailnet: %v", tc.vipName, err)
				}
			}
			eventually(t, "one Warning event", func(ctx context.Context) (bool, string) {
				n := f.warnings(ctx, tc.namespace, name, tc.reason)
				return n == 1, fmt.Sprintf("%d warnings", n)
			})
		})
	}
	// A standing refusal is one Warning, not one per resync: the
	// discovering service lists the tailnet's VIP services once a resync.
	lists := func() int {
		n := 0
		for _, r := range f.emu.Requests() {
			if r.Method == "GET" && strings.HasSuffix(r.Path, "/vip-services") {
				n++
			}
		}
		return n
	}
	before := lists()
	eventually(t, "three resyncs", func(context.Context) (bool, string) { return lists() >= before+3, fmt.Sprint(lists() - before) })
	for i, tc := range refused {
		if n := f.warnings(t.Context(), tc.namespace, fmt.Sprintf("refused-%d", i), tc.reason); n != 1 {
			t.Errorf("%s: %d Warning events, want 1", tc.name, n)
		}
	}
	// Advertising a VIP service is hosting it: a refused service's pools
	// serve it in the cluster but do not advertise it in the tailnet.
	// (A refused discovery attaches to nothing: its service keeps its
	// default name.)
	for i, tc := range refused {
		vip, poolName := tc.vipName, "web"
		if tc.discover {
			vip = fmt.Sprintf("svc:refused-%d", i)
		}
		if tc.autoApprovePool != "" {
			poolName = tc.autoApprovePool
		}
		eventually(t, tc.name+": its pool serves "+vip+" in the cluster only", func(ctx context.Context) (bool, string) {
			cfg := f.proxyConfigIn(ctx, tc.namespace, poolName)
			return servesInCluster(cfg, vip) && !hostsVIP(cfg, vip) && !hostsVIP(cfg, "svc:shared-db"), fmt.Sprintf("%+v", cfg)
		})
	}
	if w := f.emu.WriteRequests(); len(w) != 0 {
		t.Errorf("refused services wrote to the tailnet: %+v", w)
	}
	if got, err := f.api.GetVIPService(t.Context(), "svc:shared-db"); err != nil || len(got.Annotations) != 0 {
		t.Errorf("the other team's service was touched: %+v, %v", got, err)
	}

	t.Run("relabelling the namespace admits the service", func(t *testing.T) {
		err := kubetest.Update(t.Context(), f.env.Client, client.ObjectKey{Name: "team-b"}, func(ns *corev1.Namespace) { ns.Labels["team"] = "a" })
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, "svc:team-b-web registered", func(ctx context.Context) (bool, string) {
			ts := &gatewayv1alpha1.TailscaleServices{}
			_ = f.env.Client.Get(ctx, client.ObjectKey{Namespace: "team-b", Name: "refused-1"}, ts)
			_, err := f.api.GetVIPService(ctx, "svc:team-b-web")
			return condition(ts, gatewayv1alpha1.ConditionVIPServiceReady) == "True/Registered" && err == nil,
				fmt.Sprintf("%s, %v", condition(ts, gatewayv1alpha1.ConditionVIPServiceReady), err)
		})
		eventually(t, "its pool advertises svc:team-b-web", func(ctx context.Context) (bool, string) {
			cfg := f.proxyConfigIn(ctx, "team-b", "web")
			return cfg != nil && hostsVIP(cfg, "svc:team-b-web"), fmt.Sprintf("%+v", cfg)
		})
	})
}

// teamPool creates a pool (labelled app=<name>) on tailnetName in
// namespace, with one ready machine in its status.
func (f *fixture) teamPool(t *testing.T, namespace, name, tailnetName string, tag gatewayv1alpha1.Tag) {
	t.Helper()
	ep := &gatewayv1alpha1.TailscaleEndpoints{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: map[string]string{"app": name}},
		Spec: gatewayv1alpha1.TailscaleEndpointsSpec{Tailnet: tailnetName, Tags: []gatewayv1alpha1.Tag{tag},
			Proxy:   gatewayv1alpha1.ProxySpec{Ports: []gatewayv1alpha1.ProxyPort{{Port: 80, Protocol: "TCP"}}},
			Backend: &gatewayv1alpha1.EndpointsBackend{Addresses: []gatewayv1alpha1.HostPort{"127.0.0.1:18080"}}},
	}
	f.create(t, ep)
	ep.Status.Machines = []gatewayv1alpha1.Machine{{Name: pool.PodName(name, 0), Ready: true, TailnetIPs: []string{"100.64.0.1"}}}
	if err := f.env.Client.Status().Update(t.Context(), ep); err != nil {
		t.Fatal(err)
	}
}

// teamService creates a TailscaleServices selecting the pool web, or with
// autoApprove the pool autoApprovePool.
func (f *fixture) teamService(t *testing.T, namespace, name, vipName string, tags []gatewayv1alpha1.Tag, discover bool, autoApprovePool string) {
	t.Helper()
	ts := &gatewayv1alpha1.TailscaleServices{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: gatewayv1alpha1.TailscaleServicesSpec{
			Selector:   metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			VIPService: &gatewayv1alpha1.VIPServiceSpec{Name: gatewayv1alpha1.VIPServiceName(vipName), Tags: tags},
		},
	}
	if autoApprovePool != "" {
		ts.Spec.Selector.MatchLabels["app"] = autoApprovePool
		ts.Spec.VIPService.AutoApprove = true
	}
	if discover {
		ts.Spec.ServiceDiscovery = &gatewayv1alpha1.ServiceDiscoverySpec{DiscoverVIPServices: true,
			VIPServiceSelector: &gatewayv1alpha1.VIPServiceSelector{ServiceNames: []gatewayv1alpha1.VIPServiceName{"svc:shared-db"}}}
	}
	f.create(t, ts)
}

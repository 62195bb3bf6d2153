package planner_test

import (
	"slices"
	"strings"
	"testing"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/coordination"
	"github.com/tailscale-gateway/tailscale-gateway/internal/planner"
)

func TestAsksToJoinOnlyWhenItSaysSo(t *testing.T) {
	named := &gatewayv1alpha1.VIPServiceSelector{ServiceNames: []gatewayv1alpha1.VIPServiceName{"svc:db"}}
	tagged := &gatewayv1alpha1.VIPServiceSelector{Tags: []gatewayv1alpha1.Tag{"tag:db"}}
	cases := []struct {
		name string
		spec gatewayv1alpha1.TailscaleServicesSpec
		want bool
	}{
		{"nothing", gatewayv1alpha1.TailscaleServicesSpec{}, false},
		{"sharing.join", gatewayv1alpha1.TailscaleServicesSpec{VIPService: &gatewayv1alpha1.VIPServiceSpec{Sharing: &gatewayv1alpha1.VIPServiceSharing{Join: true}}}, true},
		{"sharing.allow is not asking", gatewayv1alpha1.TailscaleServicesSpec{VIPService: &gatewayv1alpha1.VIPServiceSpec{Sharing: &gatewayv1alpha1.VIPServiceSharing{Allow: true}}}, false},
		{"discovery without a selector is not asking", gatewayv1alpha1.TailscaleServicesSpec{ServiceDiscovery: &gatewayv1alpha1.ServiceDiscoverySpec{DiscoverVIPServices: true}}, false},
		{"discovery by tags is not asking", gatewayv1alpha1.TailscaleServicesSpec{ServiceDiscovery: &gatewayv1alpha1.ServiceDiscoverySpec{DiscoverVIPServices: true, VIPServiceSelector: tagged}}, false},
		{"discovery naming it", gatewayv1alpha1.TailscaleServicesSpec{ServiceDiscovery: &gatewayv1alpha1.ServiceDiscoverySpec{DiscoverVIPServices: true, VIPServiceSelector: named}}, true},
		{"naming it with discovery off", gatewayv1alpha1.TailscaleServicesSpec{ServiceDiscovery: &gatewayv1alpha1.ServiceDiscoverySpec{VIPServiceSelector: named}}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := &gatewayv1alpha1.TailscaleServices{Spec: tc.spec}
			if got := planner.AsksToJoin(ts, "svc:db"); got != tc.want {
				t.Errorf("AsksToJoin = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestHostDevicesAreTheHostingPoolsMachines(t *testing.T) {
	m := func(id string) gatewayv1alpha1.Machine { return gatewayv1alpha1.Machine{Name: "m-" + id, DeviceID: id} }
	pools := []planner.Pool{
		{Name: "b", Machines: []gatewayv1alpha1.Machine{m("n3"), m("n1"), m("")}},
		{Name: "egress", ConnectionType: gatewayv1alpha1.ConnectionTypeEgress, Machines: []gatewayv1alpha1.Machine{m("n9")}},
		{Name: "a", ConnectionType: gatewayv1alpha1.ConnectionTypeBidirectional, Machines: []gatewayv1alpha1.Machine{m("n2"), m("n1")}},
	}
	if got := planner.HostDevices(pools); !slices.Equal(got, []string{"n1", "n2", "n3"}) {
		t.Errorf("HostDevices = %v", got)
	}
}

func TestSharingConflictNamesTheOwnerAndTheFieldsOnEachSide(t *testing.T) {
	owner := coordination.Entry{OperatorID: "op-a", Object: "prod/db"}
	cases := []struct {
		name  string
		d     coordination.Decision
		wants []string
	}{
		{"neither side", coordination.Decision{Owner: owner}, []string{
			"TailscaleServices prod/db of operator op-a", "spec.vipService.sharing.allow: true on TailscaleServices prod/db", "spec.vipService.sharing.join: true here", "left untouched"}},
		{"asked, not allowed", coordination.Decision{Owner: owner, Asked: true}, []string{
			"does not allow sharing", "spec.vipService.sharing.allow: true on TailscaleServices prod/db"}},
		{"allowed, not asked", coordination.Decision{Owner: owner, Allowed: true}, []string{
			"allows sharing but this TailscaleServices does not ask", "spec.vipService.sharing.join: true here", "serviceNames"}},
		{"withdrawn from a member", coordination.Decision{Owner: owner, Asked: true, Member: true}, []string{
			"took its own entry out", "stopped hosting it"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := planner.SharingConflict("svc:db", tc.d)
			if p.Reason != gatewayv1alpha1.ReasonConflict {
				t.Errorf("reason %s", p.Reason)
			}
			for _, w := range append(tc.wants, "svc:db is owned by") {
				if !strings.Contains(p.Message, w) {
					t.Errorf("message %q lacks %q", p.Message, w)
				}
			}
		})
	}
}

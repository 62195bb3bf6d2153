package services

import (
	"slices"
	"testing"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
)

func TestRenamedFrom(t *testing.T) {
	ts := func(spec, recorded, tailnet string) *gatewayv1alpha1.TailscaleServices {
		o := &gatewayv1alpha1.TailscaleServices{}
		if spec != "" {
			o.Spec.VIPService = &gatewayv1alpha1.VIPServiceSpec{Name: gatewayv1alpha1.VIPServiceName(spec)}
		}
		if recorded != "" {
			o.Status.VIPServiceStatus = &gatewayv1alpha1.VIPServiceStatus{ServiceName: recorded}
		}
		o.Status.Tailnet = tailnet
		return o
	}
	for _, tc := range []struct {
		name string
		ts   *gatewayv1alpha1.TailscaleServices
		tn   string
		want string
	}{
		{"renamed in the same tailnet", ts("svc:after", "svc:before", "lab"), "lab", "svc:before"},
		{"same name", ts("svc:web", "svc:web", "lab"), "lab", ""},
		{"nothing recorded yet", ts("svc:web", "", ""), "lab", ""},
		{"moved to another tailnet: leaveTailnet's", ts("svc:after", "svc:before", "old"), "lab", ""},
		{"no name in the spec: discovery chooses", ts("", "svc:found", "lab"), "lab", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := renamedFrom(tc.ts, tc.tn); got != tc.want {
				t.Errorf("renamedFrom = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestReleaseNames(t *testing.T) {
	named := func(spec, recorded string) *gatewayv1alpha1.TailscaleServices {
		o := &gatewayv1alpha1.TailscaleServices{}
		o.Name = "web"
		if spec != "" {
			o.Spec.VIPService = &gatewayv1alpha1.VIPServiceSpec{Name: gatewayv1alpha1.VIPServiceName(spec)}
		}
		if recorded != "" {
			o.Status.VIPServiceStatus = &gatewayv1alpha1.VIPServiceStatus{ServiceName: recorded}
		}
		return o
	}
	for _, tc := range []struct {
		name string
		ts   *gatewayv1alpha1.TailscaleServices
		want []string
	}{
		{"the spec's name", named("svc:web", "svc:web"), []string{"svc:web"}},
		{"nothing recorded yet", named("svc:web", ""), []string{"svc:web"}},
		{"renamed, not yet acted on: both", named("svc:after", "svc:before"), []string{"svc:before", "svc:after"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := releaseNames(tc.ts); !slices.Equal(got, tc.want) {
				t.Errorf("releaseNames = %v, want %v", got, tc.want)
			}
		})
	}
}

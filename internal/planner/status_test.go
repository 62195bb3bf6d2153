package planner

import (
	"testing"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
)

// status.tailnet is computed from what each pass learnt, and keeps what is
// known when a pass learnt nothing: a deletion must find the service.
func TestVIPTailnet(t *testing.T) {
	for _, tt := range []struct {
		name                         string
		previous, used, releasedFrom string
		want                         string
	}{
		{"nothing known yet", "", "", "", ""},
		{"first found or put", "", "lab", "", "lab"},
		{"steady", "lab", "lab", "", "lab"},
		{"a pass that did not reach the tailnet keeps it", "lab", "", "", "lab"},
		{"moved: released from the old, put in the new", "lab", "east", "lab", "east"},
		{"released from the old, not put in the new yet", "lab", "", "lab", ""},
		{"a release elsewhere does not clear it", "lab", "", "east", "lab"},
	} {
		o := Observed{Tailnet: tt.used, ReleasedFrom: tt.releasedFrom,
			Previous: gatewayv1alpha1.TailscaleServicesStatus{Tailnet: tt.previous}}
		if got := vipTailnet(o); got != tt.want {
			t.Errorf("%s: vipTailnet = %q, want %q", tt.name, got, tt.want)
		}
	}
}

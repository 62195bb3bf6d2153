package routewarn

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/utils/ptr"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
)

func TestFindAndNote(t *testing.T) {
	ts := func(name string, namespace ...string) gwapiv1.BackendObjectReference {
		b := gwapiv1.BackendObjectReference{Group: ptr.To(gwapiv1.Group(group)), Kind: ptr.To(gwapiv1.Kind(kind)), Name: gwapiv1.ObjectName(name)}
		if len(namespace) > 0 {
			b.Namespace = ptr.To(gwapiv1.Namespace(namespace[0]))
		}
		return b
	}
	service := gwapiv1.BackendObjectReference{Name: "plain"}
	for _, tt := range []struct {
		name  string
		rules [][]gwapiv1.BackendObjectReference
		want  []Ref
		note  string // "" when want is empty
	}{
		{name: "no rules"},
		{name: "a Service only", rules: [][]gwapiv1.BackendObjectReference{{service}}},
		{
			name: "another group's TailscaleServices kind",
			rules: [][]gwapiv1.BackendObjectReference{{{
				Group: ptr.To(gwapiv1.Group("example.com")), Kind: ptr.To(gwapiv1.Kind(kind)), Name: "web",
			}}},
		},
		{
			name:  "one",
			rules: [][]gwapiv1.BackendObjectReference{{ts("web")}},
			want:  []Ref{{Rule: 0, Backend: 0, Namespace: "shop", Name: "web"}},
			note:  "spec.rules[0].backendRefs[0] (TailscaleServices shop/web): TailscaleServices backends work on HTTPRoute only: Envoy Gateway v1.9.1 does not call the extension for GRPCRoute, so this backend gets no endpoints; use an HTTPRoute, or a Service backendRef to the in-cluster Service web-vip",
		},
		{
			name:  "after a Service, in another namespace, and twice",
			rules: [][]gwapiv1.BackendObjectReference{{service}, {service, ts("web", "tailnet")}, {ts("web", "tailnet"), ts("api")}},
			want: []Ref{
				{Rule: 1, Backend: 1, Namespace: "tailnet", Name: "web"},
				{Rule: 2, Backend: 0, Namespace: "tailnet", Name: "web"},
				{Rule: 2, Backend: 1, Namespace: "shop", Name: "api"},
			},
			note: "spec.rules[1].backendRefs[1] (TailscaleServices tailnet/web), spec.rules[2].backendRefs[0] (TailscaleServices tailnet/web), spec.rules[2].backendRefs[1] (TailscaleServices shop/api): TailscaleServices backends work on HTTPRoute only: Envoy Gateway v1.9.1 does not call the extension for GRPCRoute, so these backends get no endpoints; use an HTTPRoute, or a Service backendRef to the in-cluster Services tailnet/web-vip, api-vip",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := Find("shop", tt.rules)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Find (-want +got):\n%s", diff)
			}
			if len(got) == 0 {
				return
			}
			if note := Note("GRPCRoute", "shop", got); note != tt.note {
				t.Errorf("Note =\n%s\nwant\n%s", note, tt.note)
			}
		})
	}
}

// TestNoteFitsTheLimit: past the 1 kB an events.k8s.io/v1 note may hold,
// the backendRefs left out are counted and the fix is kept.
func TestNoteFitsTheLimit(t *testing.T) {
	var refs []Ref
	for i := range 40 {
		refs = append(refs, Ref{Rule: i, Namespace: "shop", Name: "web"})
	}
	note := Note("TCPRoute", "shop", refs)
	if len(note) > noteLimit {
		t.Errorf("note of %d bytes, over %d", len(note), noteLimit)
	}
	for _, want := range []string{"spec.rules[0].backendRefs[0]", " more: TailscaleServices backends work on HTTPRoute only", "the in-cluster Service web-vip"} {
		if !strings.Contains(note, want) {
			t.Errorf("note %q does not contain %q", note, want)
		}
	}
}

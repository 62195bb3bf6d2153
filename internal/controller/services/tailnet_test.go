package services

import (
	"fmt"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
)

func TestChooseTailnet(t *testing.T) {
	pool := func(tn string) gatewayv1alpha1.TailscaleEndpoints {
		return gatewayv1alpha1.TailscaleEndpoints{ObjectMeta: metav1.ObjectMeta{Name: "p-" + tn}, Spec: gatewayv1alpha1.TailscaleEndpointsSpec{Tailnet: tn}}
	}
	service := func(recorded, template string) *gatewayv1alpha1.TailscaleServices {
		ts := &gatewayv1alpha1.TailscaleServices{Status: gatewayv1alpha1.TailscaleServicesStatus{Tailnet: recorded}}
		if template != "" {
			ts.Spec.EndpointTemplate = &gatewayv1alpha1.EndpointTemplate{Tailnet: template}
		}
		return ts
	}
	for _, tt := range []struct {
		name string
		ts   *gatewayv1alpha1.TailscaleServices
		eps  []gatewayv1alpha1.TailscaleEndpoints
		want string // "problem" for a TailnetMismatch
	}{
		{"nothing at all: the default", service("", ""), nil, "lab"},
		{"the pools' tailnet", service("", ""), []gatewayv1alpha1.TailscaleEndpoints{pool("east"), pool("east")}, "east"},
		{"a pool naming none is in the default", service("", ""), []gatewayv1alpha1.TailscaleEndpoints{pool("")}, "lab"},
		{"pools in two tailnets", service("east", ""), []gatewayv1alpha1.TailscaleEndpoints{pool("east"), pool("west")}, "problem"},
		{"the pools' over the recorded one (a move)", service("east", ""), []gatewayv1alpha1.TailscaleEndpoints{pool("west")}, "west"},
		{"no pools (deleted first): the recorded one", service("east", ""), nil, "east"},
		{"the recorded one over the template's", service("east", "west"), nil, "east"},
		{"the template's when nothing is recorded", service("", "west"), nil, "west"},
	} {
		got, problem := chooseTailnet(tt.ts, tt.eps, "lab")
		if problem != nil {
			if problem.Reason != gatewayv1alpha1.ReasonTailnetMismatch {
				t.Errorf("%s: problem %+v", tt.name, problem)
			}
			got = "problem"
		}
		if got != tt.want {
			t.Errorf("%s: chooseTailnet = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestReleaseTailnets(t *testing.T) {
	for _, tt := range []struct {
		recorded, computed string
		want               []string
	}{
		{"", "", nil},
		{"", "lab", []string{"lab"}},
		{"east", "east", []string{"east"}},
		{"east", "", []string{"east"}},
		{"east", "west", []string{"east", "west"}},
	} {
		if got := releaseTailnets(tt.recorded, tt.computed); fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("releaseTailnets(%q, %q) = %v, want %v", tt.recorded, tt.computed, got, tt.want)
		}
	}
}

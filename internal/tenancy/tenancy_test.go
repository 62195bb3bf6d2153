package tenancy

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
)

func TestCheck(t *testing.T) {
	teamA := Namespace{Name: "team-a", Labels: map[string]string{"team": "a"}}
	everyone := &gatewayv1alpha1.TailnetAccess{}
	onlyTeamA := &gatewayv1alpha1.TailnetAccess{NamespaceSelector: metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}}}
	tagged := &gatewayv1alpha1.TailnetAccess{Tags: []gatewayv1alpha1.Tag{"tag:web", "tag:db"}}
	prefixed := &gatewayv1alpha1.TailnetAccess{VIPServiceNamePrefix: "{namespace}-"}
	badSelector := &gatewayv1alpha1.TailnetAccess{NamespaceSelector: metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "team", Operator: "Equals"}}}}

	tests := []struct {
		name   string
		access *gatewayv1alpha1.TailnetAccess
		ns     Namespace
		req    Request
		reason string   // "" when allowed
		says   []string // parts of the message
	}{
		{"no access refuses everyone", nil, teamA, Request{Tags: []string{"tag:web"}, TagsField: "spec.tags"},
			gatewayv1alpha1.ReasonAccessNotConfigured, []string{"TailscaleTailnet shared has no spec.access", "namespaceSelector: {}"}},
		{"an empty selector admits every namespace", everyone, Namespace{Name: "unlabelled"}, Request{Tags: []string{"tag:any"}, VIPServiceName: "svc:anything"},
			"", nil},
		{"a selected namespace", onlyTeamA, teamA, Request{}, "", nil},
		{"a namespace outside the selector", onlyTeamA, Namespace{Name: "team-b", Labels: map[string]string{"team": "b"}}, Request{},
			gatewayv1alpha1.ReasonNamespaceNotAllowed, []string{"namespace team-b", "spec.access.namespaceSelector (team=a)", "TailscaleTailnet shared", "label the namespace"}},
		{"a namespace without labels", onlyTeamA, Namespace{Name: "default"}, Request{},
			gatewayv1alpha1.ReasonNamespaceNotAllowed, []string{"namespace default"}},
		{"an invalid selector selects nothing", badSelector, teamA, Request{},
			gatewayv1alpha1.ReasonNamespaceNotAllowed, []string{"is invalid", "fix the selector"}},
		{"allowed tags", tagged, teamA, Request{Tags: []string{"tag:db", "tag:web"}, TagsField: "spec.tags"}, "", nil},
		{"no tags asked", tagged, teamA, Request{}, "", nil},
		{"a forbidden tag", tagged, teamA, Request{Tags: []string{"tag:web", "tag:admin"}, TagsField: "spec.tags"},
			gatewayv1alpha1.ReasonTagNotAllowed, []string{"spec.tags: tag:admin is not allowed by spec.access.tags of TailscaleTailnet shared (tag:web, tag:db)"}},
		{"forbidden tags named once each", tagged, teamA, Request{Tags: []string{"tag:x", "tag:y", "tag:x"}, TagsField: "spec.vipService.tags"},
			gatewayv1alpha1.ReasonTagNotAllowed, []string{"spec.vipService.tags: tag:x, tag:y are not allowed"}},
		{"omitted tags allow any", everyone, teamA, Request{Tags: []string{"tag:admin"}}, "", nil},
		{"a name with the namespace prefix", prefixed, teamA, Request{VIPServiceName: "svc:team-a-web"}, "", nil},
		{"a name outside the prefix", prefixed, teamA, Request{VIPServiceName: "svc:team-b-web"},
			gatewayv1alpha1.ReasonNameNotAllowed, []string{"VIP service svc:team-b-web does not start with svc:team-a-", `spec.access.vipServiceNamePrefix ("{namespace}-")`, "TailscaleTailnet shared", "in namespace team-a"}},
		{"a fixed prefix", &gatewayv1alpha1.TailnetAccess{VIPServiceNamePrefix: "shared-"}, teamA, Request{VIPServiceName: "svc:shared-db"}, "", nil},
		{"no name asked", prefixed, teamA, Request{Tags: []string{"tag:web"}}, "", nil},
		{"namespace before tags before name", &gatewayv1alpha1.TailnetAccess{
			NamespaceSelector: metav1.LabelSelector{MatchLabels: map[string]string{"team": "b"}}, Tags: []gatewayv1alpha1.Tag{"tag:b"}, VIPServiceNamePrefix: "b-",
		}, teamA, Request{Tags: []string{"tag:a"}, VIPServiceName: "svc:a"}, gatewayv1alpha1.ReasonNamespaceNotAllowed, nil},
		{"tags before name", &gatewayv1alpha1.TailnetAccess{Tags: []gatewayv1alpha1.Tag{"tag:b"}, VIPServiceNamePrefix: "b-"},
			teamA, Request{Tags: []string{"tag:a"}, VIPServiceName: "svc:a"}, gatewayv1alpha1.ReasonTagNotAllowed, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Check(tc.access, "shared", tc.ns, tc.req)
			if tc.reason == "" {
				if got != nil {
					t.Fatalf("refused: %+v", *got)
				}
				return
			}
			if got == nil {
				t.Fatalf("allowed; want %s", tc.reason)
			}
			if !IsRefusal(got.Reason) {
				t.Errorf("IsRefusal(%s) is false", got.Reason)
			}
			if got.Reason != tc.reason {
				t.Errorf("reason %s, want %s (%s)", got.Reason, tc.reason, got.Message)
			}
			for _, part := range tc.says {
				if !strings.Contains(got.Message, part) {
					t.Errorf("message %q lacks %q", got.Message, part)
				}
			}
		})
	}
}

func TestNamePrefix(t *testing.T) {
	for _, tc := range []struct{ prefix, ns, want string }{
		{"{namespace}-", "team-a", "team-a-"},
		{"shared-", "team-a", "shared-"},
		{"x-{namespace}-{namespace}", "n", "x-n-n"},
		{"", "team-a", ""},
	} {
		if got := NamePrefix(tc.prefix, tc.ns); got != tc.want {
			t.Errorf("NamePrefix(%q, %q) = %q, want %q", tc.prefix, tc.ns, got, tc.want)
		}
	}
}

func TestIsRefusalOnlyOfCheck(t *testing.T) {
	for _, reason := range []string{gatewayv1alpha1.ReasonConflict, gatewayv1alpha1.ReasonRegistered, gatewayv1alpha1.ReasonTailnetNotReady, ""} {
		if IsRefusal(reason) {
			t.Errorf("IsRefusal(%q)", reason)
		}
	}
}

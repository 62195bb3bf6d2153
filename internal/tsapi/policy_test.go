package tsapi_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/tailscale-gateway/tailscale-gateway/internal/tsapi"
)

func TestConditionalPolicyUpdate(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	policy, err := e.client.GetPolicy(ctx)
	if err != nil || policy.ETag == "" {
		t.Fatalf("get = %+v, %v; want an ETag", policy, err)
	}
	doc, changed, err := tsapi.EnsureServiceApprovers(policy.HuJSON, "svc:web", []string{"tag:web"})
	if err != nil || !changed {
		t.Fatalf("ensure: changed=%v err=%v", changed, err)
	}
	etag, err := e.client.SetPolicy(ctx, doc, policy.ETag)
	if err != nil {
		t.Fatal(err)
	}
	if etag == "" || etag == policy.ETag {
		t.Errorf("new ETag = %q, want a fresh one", etag)
	}
	if got := e.emu.AutoApprovedServiceTags()["svc:web"]; !slices.Equal(got, []string{"tag:web"}) {
		t.Errorf("emulator approvers = %v", got)
	}
	if _, err := e.client.SetPolicy(ctx, doc, policy.ETag); !tsapi.IsPreconditionFailed(err) || !tsapi.IsConflict(err) {
		t.Errorf("stale ETag: err = %v, want precondition failed", err)
	}
	if _, err := e.client.SetPolicy(ctx, doc, ""); err == nil {
		t.Error("unconditional set succeeded, want refusal")
	}
}

const samplePolicy = `// Company policy.
{
	// Who can reach what.
	"grants": [{"src": ["*"], "dst": ["*"], "ip": ["*"]}],
	%s
}
`

func TestEnsureServiceApprovers(t *testing.T) {
	tests := []struct {
		name        string
		approvers   string
		want        []string
		wantChanged bool
	}{
		{"no autoApprovers", ``, []string{"tag:web"}, true},
		{"autoApprovers without services", `"autoApprovers": {"routes": {"10.0.0.0/8": ["tag:r"]}},`, []string{"tag:web"}, true},
		{"other service kept", `"autoApprovers": {"services": {"svc:db": ["tag:db"]}},`, []string{"tag:web"}, true},
		{"existing approver kept", `"autoApprovers": {"services": {"svc:web": ["tag:old"]}},`, []string{"tag:old", "tag:web"}, true},
		{"already approved", `"autoApprovers": {"services": {"svc:web": ["tag:web"]}},`, []string{"tag:web"}, false},
		{"keys in another case", `"AutoApprovers": {"Services": {"svc:web": ["tag:old"]}},`, []string{"tag:old", "tag:web"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(strings.Replace(samplePolicy, "%s", tt.approvers, 1))
			out, changed, err := tsapi.EnsureServiceApprovers(in, "svc:web", []string{"tag:web"})
			if err != nil {
				t.Fatal(err)
			}
			if changed != tt.wantChanged {
				t.Errorf("changed = %v, want %v", changed, tt.wantChanged)
			}
			parsed, err := tsapi.ParseServiceApprovers(out)
			if err != nil {
				t.Fatalf("result does not parse: %v\n%s", err, out)
			}
			if !slices.Equal(parsed["svc:web"], tt.want) {
				t.Errorf("svc:web approvers = %v, want %v\n%s", parsed["svc:web"], tt.want, out)
			}
			if strings.Contains(tt.approvers, "svc:db") && !slices.Equal(parsed["svc:db"], []string{"tag:db"}) {
				t.Errorf("svc:db approvers lost:\n%s", out)
			}
			for _, kept := range []string{"// Company policy.", "// Who can reach what.", `"grants"`} {
				if !strings.Contains(string(out), kept) {
					t.Errorf("%q lost from policy:\n%s", kept, out)
				}
			}
			if !parsed.Approves("svc:web", []string{"tag:other", "tag:web"}) {
				t.Error("Approves = false for a listed tag")
			}
		})
	}
}

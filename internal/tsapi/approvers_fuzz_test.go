package tsapi_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tailscale/hujson"

	"github.com/tailscale-gateway/tailscale-gateway/internal/tsapi"
)

// FuzzEnsureServiceApprovers: the tailnet policy is a shared document that
// people edit by hand, so whatever it holds, the editor either refuses it
// or changes nothing but autoApprovers.services[service] (which ends up
// listing every approver it had and every tag asked for), and a second
// pass over its own output has nothing left to do (else every reconcile
// would write the policy again).
func FuzzEnsureServiceApprovers(f *testing.F) {
	for _, approvers := range []string{
		``,
		`"autoApprovers": {"routes": {"10.0.0.0/8": ["tag:r"]}},`,
		`"autoApprovers": {"services": {"svc:db": ["tag:db"]}},`,
		`"autoApprovers": {"services": {"svc:web": ["tag:old"]}},`,
		`"autoApprovers": {"services": {"svc:web": ["tag:web"]}},`,
		`"AutoApprovers": {"Services": {"svc:web": ["tag:old"]}},`,
		`"autoApprovers": {"services": {"svc:web": null}},`,
		`"autoApprovers": {"services": null},`,
		`"autoApprovers": null,`,
		`"autoApprovers": {}, "AutoApprovers": {"services": {"svc:web": ["tag:x"]}},`,
		`"autoApprovers": {"services": {"svc:web": ["tag:a"], "svc:web": ["tag:b"]}},`,
		`"autoApprovers": {"services": {"svc:web": ["tag:a"]}, "Services": {"svc:db": ["tag:b"]}},`,
	} {
		f.Add(strings.Replace(samplePolicy, "%s", approvers, 1), "svc:web", "tag:web", "")
	}
	f.Add(`{}`, "svc:web", "tag:web", "tag:api")
	f.Add(`{"autoApprovers": {"services": {"svc:a/b~c": ["tag:x"]}}}`, "svc:a/b~c", "tag:y", "")
	f.Add(`[]`, "svc:web", "tag:web", "")
	f.Add(`null`, "svc:web", "tag:web", "")
	f.Add(`{"grants": [], /* trailing */}`, "svc:web", "tag:web", "group:eng")
	f.Add("// Emulated tailnet policy file.\n{\n\t\"grants\": [\n\t\t{\"src\": [\"*\"], \"dst\": [\"*\"], \"ip\": [\"*\"]},\n\t],\n}\n", "svc:web", "tag:web", "")
	f.Fuzz(func(t *testing.T, policy, service, tag1, tag2 string) {
		tags := []string{tag1}
		if tag2 != "" {
			tags = append(tags, tag2)
		}
		in := []byte(policy)
		out, changed, err := tsapi.EnsureServiceApprovers(in, service, tags)
		if err != nil {
			return
		}
		if !bytes.Equal(in, []byte(policy)) {
			t.Fatal("the input policy was modified in place")
		}
		if !changed && !bytes.Equal(out, in) {
			t.Fatalf("changed = false but the policy differs:\n%s\n---\n%s", in, out)
		}
		before, err := tsapi.ParseServiceApprovers(in)
		if err != nil {
			t.Fatalf("accepted a policy it cannot parse: %v", err)
		}
		after, err := tsapi.ParseServiceApprovers(out)
		if err != nil {
			t.Fatalf("the result does not parse: %v\n%s", err, out)
		}
		for _, want := range slices.Concat(before[service], tags) {
			if !slices.Contains(after[service], want) {
				t.Errorf("autoApprovers.services[%q] = %q, lacks %q\n%s", service, after[service], want, out)
			}
		}
		if a, b := withoutService(t, in, service), withoutService(t, out, service); !reflect.DeepEqual(a, b) {
			t.Errorf("the policy changed beyond autoApprovers.services[%q]:\nbefore %v\nafter  %v\n%s", service, a, b, out)
		}
		again, changedAgain, err := tsapi.EnsureServiceApprovers(out, service, tags)
		if err != nil || changedAgain || !bytes.Equal(again, out) {
			t.Errorf("a second pass: changed=%v err=%v, want nothing to do\n%s\n---\n%s", changedAgain, err, out, again)
		}
	})
}

// withoutService is the policy as Tailscale's parser reads it (JSON
// objects, names matched case-insensitively) without
// autoApprovers.services[service], and without the objects that leaves
// empty, which the editor creates when they are missing.
func withoutService(t *testing.T, policy []byte, service string) any {
	t.Helper()
	std, err := hujson.Standardize(slices.Clone(policy))
	if err != nil {
		t.Fatalf("standardizing: %v\n%s", err, policy)
	}
	dec := json.NewDecoder(bytes.NewReader(std))
	dec.UseNumber() // numbers compared as written
	var doc any
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("decoding: %v\n%s", err, std)
	}
	root, ok := doc.(map[string]any)
	if !ok {
		return doc
	}
	for aaKey, aa := range root {
		aaObj, ok := aa.(map[string]any)
		if !ok || !strings.EqualFold(aaKey, "autoApprovers") {
			continue
		}
		for svcKey, svcs := range aaObj {
			svcsObj, ok := svcs.(map[string]any)
			if !ok || !strings.EqualFold(svcKey, "services") {
				continue
			}
			delete(svcsObj, service)
			if len(svcsObj) == 0 {
				delete(aaObj, svcKey)
			}
		}
		if len(aaObj) == 0 {
			delete(root, aaKey)
		}
	}
	return root
}

// What FuzzEnsureServiceApprovers found: a level of the path named twice
// (Tailscale's parser merges or overrides duplicates, so the edit could
// miss what it reads and be written again on every pass), and strings JSON
// cannot carry. Each is refused, naming the field.
func TestEnsureServiceApproversRefusesAmbiguity(t *testing.T) {
	for name, tc := range map[string]struct {
		policy, service, tag, want string
	}{
		"autoApprovers twice": {`{"autoApprovers": {}, "AutoApprovers": {"services": {"svc:web": ["tag:x"]}}}`, "svc:web", "tag:web",
			`autoApprovers is given twice (as "autoApprovers" and "AutoApprovers")`},
		"services twice": {`{"autoApprovers": {"services": {}, "Services": {"svc:web": ["tag:x"]}}}`, "svc:web", "tag:web",
			`autoApprovers.services is given twice`},
		"the service twice": {`{"autoApprovers": {"services": {"svc:web": ["tag:a"], "svc:web": ["tag:b"]}}}`, "svc:web", "tag:web",
			`autoApprovers.services["svc:web"] is given twice`},
		"a tag not in UTF-8": {`{}`, "svc:web", "tag:\xd4", "is not valid UTF-8"},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := tsapi.EnsureServiceApprovers([]byte(tc.policy), tc.service, []string{tc.tag})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one with %q", err, tc.want)
			}
		})
	}
}

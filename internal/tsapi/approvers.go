package tsapi

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/tailscale/hujson"
)

// ServiceApprovers is the policy's autoApprovers.services: "svc:name" →
// tags (or other selectors) whose devices may host the service without
// manual approval.
type ServiceApprovers map[string][]string

// ParseServiceApprovers reads autoApprovers.services from a HuJSON policy.
// Keys match case-insensitively, as in Tailscale's own policy parser.
func ParseServiceApprovers(policy []byte) (ServiceApprovers, error) {
	std, err := hujson.Standardize(slices.Clone(policy))
	if err != nil {
		return nil, fmt.Errorf("parsing policy: %w", err)
	}
	var doc struct {
		AutoApprovers struct {
			Services ServiceApprovers `json:"services"`
		} `json:"autoApprovers"`
	}
	if err := json.Unmarshal(std, &doc); err != nil {
		return nil, fmt.Errorf("parsing policy: %w", err)
	}
	if doc.AutoApprovers.Services == nil {
		return ServiceApprovers{}, nil
	}
	return doc.AutoApprovers.Services, nil
}

// Approves reports whether a device with any of tags may host service.
func (a ServiceApprovers) Approves(service string, tags []string) bool {
	for _, approver := range a[service] {
		if slices.Contains(tags, approver) {
			return true
		}
	}
	return false
}

// EnsureServiceApprovers returns policy with every tag in tags listed under
// autoApprovers.services[service], keeping the approvers already there and
// the rest of the document (members, order, comments) intact; the result
// is laid out in hujson's canonical format. changed
// is false, and policy is returned as is, when nothing was missing.
func EnsureServiceApprovers(policy []byte, service string, tags []string) (out []byte, changed bool, err error) {
	// JSON holds only valid UTF-8: anything else would be written as
	// U+FFFD, never match, and be added again on every pass.
	for _, s := range append([]string{service}, tags...) {
		if !utf8.ValidString(s) {
			return nil, false, fmt.Errorf("policy: autoApprovers.services: %q is not valid UTF-8", s)
		}
	}
	current, err := ParseServiceApprovers(policy)
	if err != nil {
		return nil, false, err
	}
	merged := slices.Clone(current[service])
	for _, t := range tags {
		if !slices.Contains(merged, t) {
			merged = append(merged, t)
		}
	}
	if len(merged) == len(current[service]) {
		return policy, false, nil
	}
	out, err = SetServiceApprovers(policy, service, merged)
	return out, err == nil, err
}

// SetServiceApprovers returns policy with autoApprovers.services[service]
// set to approvers (replacing what was there), creating autoApprovers and
// services when missing, and leaving the rest of the document untouched.
func SetServiceApprovers(policy []byte, service string, approvers []string) ([]byte, error) {
	// Parse keeps references into its input, which Format rewrites: work
	// on a copy, never on the caller's (perhaps cached) policy.
	root, err := hujson.Parse(slices.Clone(policy))
	if err != nil {
		return nil, fmt.Errorf("parsing policy: %w", err)
	}
	patch, err := approverPatch(&root, service, approvers)
	if err != nil {
		return nil, err
	}
	if err := root.Patch(patch); err != nil {
		return nil, fmt.Errorf("editing policy: %w", err)
	}
	// The patch inserts compact JSON; hujson's canonical formatting (the
	// policy editor's style) lays it out and keeps every comment.
	root.Format()
	return root.Pack(), nil
}

// approverPatch builds the JSON Patch that adds the entry at the deepest
// existing level, using the key spellings the document already has. A
// level named twice is refused: Tailscale's parser merges or overrides
// the duplicates, so an edit of one of them may not be what it reads, and
// the policy would be written again on every pass.
func approverPatch(root *hujson.Value, service string, approvers []string) ([]byte, error) {
	entry := map[string]any{service: approvers}
	path, value := "", any(map[string]any{"autoApprovers": map[string]any{"services": entry}})
	aa, aaKey, ok, err := member(root, "autoApprovers", "autoApprovers", true)
	if err != nil {
		return nil, err
	}
	if ok {
		path, value = "/"+pointerEscape(aaKey), map[string]any{"services": entry}
		svcs, svcKey, ok, err := member(aa, "services", "autoApprovers.services", true)
		if err != nil {
			return nil, err
		}
		if ok {
			path, value = path+"/"+pointerEscape(svcKey), entry
			if _, isObj := svcs.Value.(*hujson.Object); !isObj {
				return nil, fmt.Errorf("policy: autoApprovers.services is not an object")
			}
			if _, _, _, err := member(svcs, service, fmt.Sprintf("autoApprovers.services[%q]", service), false); err != nil {
				return nil, err
			}
		}
	}
	if path == "" {
		if _, isObj := root.Value.(*hujson.Object); !isObj {
			return nil, fmt.Errorf("policy: top level is not an object")
		}
	}
	return addOps(path, value.(map[string]any))
}

// addOps is one "add" per key of value under path: adding members one by
// one keeps sibling members of path in place.
func addOps(path string, value map[string]any) ([]byte, error) {
	type op struct {
		Op    string `json:"op"`
		Path  string `json:"path"`
		Value any    `json:"value"`
	}
	var ops []op
	for k, v := range value {
		ops = append(ops, op{Op: "add", Path: path + "/" + pointerEscape(k), Value: v})
	}
	return json.Marshal(ops)
}

// member finds an object member by name (case-insensitively when fold is
// set, as Tailscale's parser matches the policy's own keys) and returns its
// value and the name as spelled in the document; field names it in the
// error when the object has more than one such member.
func member(v *hujson.Value, name, field string, fold bool) (*hujson.Value, string, bool, error) {
	obj, ok := v.Value.(*hujson.Object)
	if !ok {
		return nil, "", false, nil
	}
	var found *hujson.ObjectMember
	for i := range obj.Members {
		m := &obj.Members[i]
		lit, ok := m.Name.Value.(hujson.Literal)
		if !ok || !(lit.String() == name || fold && strings.EqualFold(lit.String(), name)) {
			continue
		}
		if found != nil {
			return nil, "", false, fmt.Errorf("policy: %s is given twice (as %q and %q); keep one, and the operator can edit it",
				field, found.Name.Value.(hujson.Literal).String(), lit.String())
		}
		found = m
	}
	if found == nil {
		return nil, "", false, nil
	}
	return &found.Value, found.Name.Value.(hujson.Literal).String(), true, nil
}

func pointerEscape(s string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}

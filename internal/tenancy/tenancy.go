// Package tenancy decides whether a namespace may use a tailnet the way an
// object asks, by the TailscaleTailnet's spec.access: which namespaces,
// which tags, which VIP service names. It is pure; the controllers read the
// TailscaleTailnet and the Namespace, ask Check before they create anything
// in the tailnet or the cluster, and show a Refusal as a False condition.
package tenancy

import (
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
)

// NamespacePlaceholder in access.vipServiceNamePrefix stands for the
// namespace of the TailscaleServices.
const NamespacePlaceholder = "{namespace}"

// Namespace is what the rules read of the object's namespace.
type Namespace struct {
	Name   string
	Labels map[string]string
}

// Request is what an object would use of the tailnet.
type Request struct {
	// Tags its machines or VIP service would carry.
	Tags []string
	// TagsField names where Tags come from, for the message ("spec.tags").
	TagsField string
	// VIPServiceName it would create or join ("svc:..."); "" when it names none.
	VIPServiceName string
}

// Refusal says which rule refuses a request: Reason is a condition reason
// (one per rule), Message names the TailscaleTailnet, the offending value
// and the fix.
type Refusal struct {
	Reason  string
	Message string
}

// IsRefusal reports whether a condition reason is one of Check's: the
// proxy-config controller keeps a refused service's pools from
// advertising it, as hosting a VIP service is using the tailnet too.
func IsRefusal(reason string) bool {
	switch reason {
	case gatewayv1alpha1.ReasonAccessNotConfigured, gatewayv1alpha1.ReasonNamespaceNotAllowed,
		gatewayv1alpha1.ReasonTagNotAllowed, gatewayv1alpha1.ReasonNameNotAllowed:
		return true
	}
	return false
}

// Check returns why access refuses the request of an object in ns, or nil
// when it is allowed. The rules apply in the order a user fixes them:
// access configured, namespace selected, tags allowed, name prefixed.
func Check(access *gatewayv1alpha1.TailnetAccess, tailnet string, ns Namespace, req Request) *Refusal {
	if access == nil {
		return &Refusal{gatewayv1alpha1.ReasonAccessNotConfigured, fmt.Sprintf(
			"TailscaleTailnet %s has no spec.access, so no namespace may use it: set spec.access on it "+
				"(namespaceSelector: {} lets every namespace use it)", tailnet)}
	}
	if r := checkNamespace(access, tailnet, ns); r != nil {
		return r
	}
	if r := checkTags(access, tailnet, req); r != nil {
		return r
	}
	return checkName(access, tailnet, ns, req)
}

func checkNamespace(access *gatewayv1alpha1.TailnetAccess, tailnet string, ns Namespace) *Refusal {
	sel, err := metav1.LabelSelectorAsSelector(&access.NamespaceSelector)
	if err != nil {
		return &Refusal{gatewayv1alpha1.ReasonNamespaceNotAllowed, fmt.Sprintf(
			"spec.access.namespaceSelector of TailscaleTailnet %s is invalid, so it selects no namespace: %v; fix the selector", tailnet, err)}
	}
	if sel.Matches(labels.Set(ns.Labels)) {
		return nil
	}
	return &Refusal{gatewayv1alpha1.ReasonNamespaceNotAllowed, fmt.Sprintf(
		"namespace %s is not selected by spec.access.namespaceSelector (%s) of TailscaleTailnet %s: "+
			"label the namespace to match, or ask the tailnet's administrator to widen the selector", ns.Name, sel, tailnet)}
}

func checkTags(access *gatewayv1alpha1.TailnetAccess, tailnet string, req Request) *Refusal {
	if len(access.Tags) == 0 {
		return nil // any tag the OAuth client may use
	}
	var refused []string
	for _, t := range req.Tags {
		if !slices.Contains(access.Tags, gatewayv1alpha1.Tag(t)) && !slices.Contains(refused, t) {
			refused = append(refused, t)
		}
	}
	if len(refused) == 0 {
		return nil
	}
	allowed := make([]string, 0, len(access.Tags))
	for _, t := range access.Tags {
		allowed = append(allowed, string(t))
	}
	return &Refusal{gatewayv1alpha1.ReasonTagNotAllowed, fmt.Sprintf(
		"%s: %s not allowed by spec.access.tags of TailscaleTailnet %s (%s): use only those tags, "+
			"or ask the tailnet's administrator to add it", req.TagsField, isOrAre(refused), tailnet, strings.Join(allowed, ", "))}
}

func checkName(access *gatewayv1alpha1.TailnetAccess, tailnet string, ns Namespace, req Request) *Refusal {
	if access.VIPServiceNamePrefix == "" || req.VIPServiceName == "" {
		return nil
	}
	want := "svc:" + NamePrefix(access.VIPServiceNamePrefix, ns.Name)
	if strings.HasPrefix(req.VIPServiceName, want) {
		return nil
	}
	return &Refusal{gatewayv1alpha1.ReasonNameNotAllowed, fmt.Sprintf(
		"VIP service %s does not start with %s, which spec.access.vipServiceNamePrefix (%q) of TailscaleTailnet %s requires in namespace %s: "+
			"name it %s... in spec.vipService.name", req.VIPServiceName, want, access.VIPServiceNamePrefix, tailnet, ns.Name, want)}
}

// NamePrefix is the prefix (after svc:) the VIP services of namespace must have.
func NamePrefix(prefix, namespace string) string {
	return strings.ReplaceAll(prefix, NamespacePlaceholder, namespace)
}

func isOrAre(tags []string) string {
	if len(tags) == 1 {
		return tags[0] + " is"
	}
	return strings.Join(tags, ", ") + " are"
}

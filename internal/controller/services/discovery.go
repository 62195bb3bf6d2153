package services

import (
	"context"
	"fmt"
	"slices"
	"strings"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/planner"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tsapi"
)

// discovering is true when the TailscaleServices may attach to existing
// VIP services.
func discovering(ts *gatewayv1alpha1.TailscaleServices) bool {
	return ts.Spec.ServiceDiscovery != nil && ts.Spec.ServiceDiscovery.DiscoverVIPServices
}

// matchesDiscovery reports whether a VIP service is one the selector asks
// for: named in serviceNames, or carrying every listed tag. Without a
// selector every service matches.
func matchesDiscovery(ts *gatewayv1alpha1.TailscaleServices, svc tsapi.VIPService) bool {
	sel := ts.Spec.ServiceDiscovery.VIPServiceSelector
	if sel == nil || (len(sel.ServiceNames) == 0 && len(sel.Tags) == 0) {
		return true
	}
	if slices.Contains(sel.ServiceNames, gatewayv1alpha1.VIPServiceName(svc.Name)) {
		return true
	}
	if len(sel.Tags) == 0 {
		return false
	}
	for _, t := range sel.Tags {
		if !slices.Contains(svc.Tags, string(t)) {
			return false
		}
	}
	return true
}

// chooseName decides which VIP service the TailscaleServices uses: the one
// its spec names; with discovery and no name, the single matching service
// (none: svc:<metadata.name>; several: a problem, no action). It also
// returns the services discovery matched, for the Discovered message.
func chooseName(ctx context.Context, api tsapi.Client, ts *gatewayv1alpha1.TailscaleServices) (string, []string, *planner.Problem, error) {
	if !discovering(ts) {
		return planner.VIPServiceName(ts), nil, nil, nil
	}
	all, err := api.ListVIPServices(ctx)
	if err != nil {
		return "", nil, nil, err
	}
	var matched []string
	for _, svc := range all {
		if matchesDiscovery(ts, svc) {
			matched = append(matched, svc.Name)
		}
	}
	slices.Sort(matched)
	if ts.Spec.VIPService != nil && ts.Spec.VIPService.Name != "" {
		return string(ts.Spec.VIPService.Name), matched, nil, nil
	}
	switch len(matched) {
	case 0:
		return planner.VIPServiceName(ts), matched, nil, nil
	case 1:
		return matched[0], matched, nil, nil
	}
	return "", matched, &planner.Problem{Reason: gatewayv1alpha1.ReasonAmbiguousDiscovery, Message: fmt.Sprintf(
		"serviceDiscovery matches %d VIP services (%s) and spec.vipService.name names none; name one, or narrow vipServiceSelector",
		len(matched), strings.Join(matched, ", "))}, nil
}

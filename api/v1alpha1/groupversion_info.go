// Package v1alpha1 holds the API of Tailscale Gateway: TailscaleTailnet (how to
// reach a tailnet), TailscaleEndpoints (a pool of proxy machines on it) and
// TailscaleServices (a load-balanced VIP service composed of pools chosen by
// label selectors).
//
// +kubebuilder:object:generate=true
// +groupName=gateway.tailscale.com
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of every kind in this package.
	GroupVersion = schema.GroupVersion{Group: "gateway.tailscale.com", Version: "v1alpha1"}

	// SchemeBuilder registers the kinds of this package with a scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the kinds of this package to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

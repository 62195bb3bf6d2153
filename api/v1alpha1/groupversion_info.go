// Package v1alpha1 holds the API of Tailscale Gateway: TailscaleTailnet (how to
// reach a tailnet), TailscaleEndpoints (a pool of proxy machines on it) and
// TailscaleServices (a load-balanced VIP service composed of pools chosen by
// label selectors).
//
// +kubebuilder:object:generate=true
// +groupName=gateway.tailscale.com
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupVersion is the group and version of every kind in this package.
var GroupVersion = schema.GroupVersion{Group: "gateway.tailscale.com", Version: "v1alpha1"}

var schemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

// AddToScheme adds the kinds of this package to a scheme.
var AddToScheme = schemeBuilder.AddToScheme

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion,
		&TailscaleTailnet{}, &TailscaleTailnetList{},
		&TailscaleEndpoints{}, &TailscaleEndpointsList{},
		&TailscaleServices{}, &TailscaleServicesList{},
	)
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}

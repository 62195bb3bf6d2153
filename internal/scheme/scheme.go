// Package scheme is the runtime scheme of the operator and its tools: the
// core Kubernetes kinds and this project's kinds.
package scheme

import (
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
)

// New returns a scheme with the core kinds and this project's kinds.
func New() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		panic(err) // only on a programming error: the kinds are static
	}
	if err := gatewayv1alpha1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}

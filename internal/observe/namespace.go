package observe

import (
	"context"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tailscale-gateway/tailscale-gateway/internal/tenancy"
)

// Namespace reads the labels a tailnet's access rules judge a namespace
// by. It reads metadata only, so the cache keeps no more of Namespaces
// than that (watches of Namespaces must be metadata-only too, to share it).
// A namespace already gone has no labels.
func Namespace(ctx context.Context, r client.Reader, name string) (tenancy.Namespace, error) {
	ns := &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}}
	if err := r.Get(ctx, client.ObjectKey{Name: name}, ns); err != nil && !apierrors.IsNotFound(err) {
		return tenancy.Namespace{}, err
	}
	return tenancy.Namespace{Name: name, Labels: ns.Labels}, nil
}

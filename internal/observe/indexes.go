package observe

import (
	"context"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/client"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/backend"
	"github.com/tailscale-gateway/tailscale-gateway/internal/selection"
)

// BackendServiceField indexes pools by the Service their backend forwards
// to, so that a Service or EndpointSlice change finds its pools.
const BackendServiceField = "spec.backend.serviceName"

// RegisterIndexes registers every cache field index the controllers read
// through: TailscaleServices by selector anchor (selection.IndexField) and
// TailscaleEndpoints by backend Service. The operator and every test that
// runs controllers call it, once per manager, before the controllers start.
func RegisterIndexes(ctx context.Context, indexer client.FieldIndexer) error {
	if err := indexer.IndexField(ctx, &gatewayv1alpha1.TailscaleServices{}, selection.IndexField, IndexAnchors); err != nil {
		return fmt.Errorf("indexing TailscaleServices by selector: %w", err)
	}
	if err := indexer.IndexField(ctx, &gatewayv1alpha1.TailscaleEndpoints{}, BackendServiceField, indexBackendService); err != nil {
		return fmt.Errorf("indexing TailscaleEndpoints by backend Service: %w", err)
	}
	return nil
}

func indexBackendService(o client.Object) []string {
	if name := backend.ServiceName(o.(*gatewayv1alpha1.TailscaleEndpoints)); name != "" {
		return []string{name}
	}
	return nil
}

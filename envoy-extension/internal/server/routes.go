package server

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwclientv1 "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned/typed/apis/v1"
)

// RouteReader reads an HTTPRoute from the API server. Errors for which
// k8s.io/apimachinery/pkg/api/errors.IsNotFound is true mean there is no such
// route.
type RouteReader interface {
	GetHTTPRoute(ctx context.Context, namespace, name string) (*gwapiv1.HTTPRoute, error)
}

// NewRouteReader returns a RouteReader that gets HTTPRoutes with cfg's
// credentials, which need get on httproutes.gateway.networking.k8s.io. It
// reads the API server on every call, without a cache: Envoy Gateway calls
// the hook only when it translates, and then with the route it just read.
func NewRouteReader(cfg *rest.Config) (RouteReader, error) {
	client, err := gwclientv1.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating a Gateway API client: %w", err)
	}
	return clientRoutes{client}, nil
}

type clientRoutes struct{ client gwclientv1.GatewayV1Interface }

func (c clientRoutes) GetHTTPRoute(ctx context.Context, namespace, name string) (*gwapiv1.HTTPRoute, error) {
	return c.client.HTTPRoutes(namespace).Get(ctx, name, metav1.GetOptions{})
}

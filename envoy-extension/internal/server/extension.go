// Package server serves this project's Envoy Gateway extension: the gRPC
// service envoygateway.extension.EnvoyGatewayExtension, whose PostClusterModify
// hook points the clusters of TailscaleServices backendRefs at their
// in-cluster Services, and the standard gRPC health service.
package server

import (
	"context"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/envoyproxy/gateway/proto/extension"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/tailscale-gateway/tailscale-gateway/envoy-extension/internal/translate"
)

// Extension implements the Envoy Gateway extension hooks.
type Extension struct {
	// Every hook of Envoy Gateway v1.9.1 is implemented (passthrough.go).
	// The embedding only keeps this type compiling if a later proto adds a
	// hook; Envoy Gateway calls only the hooks listed in the EnvoyGateway
	// config's extensionManager.hooks.xdsTranslator
	// (internal/extension/registry/extension_manager.go:253-273), so a new
	// hook answers Unimplemented only if someone configures it, and then
	// Envoy Gateway reports the error (internal/xds/translator/extension.go:96-100).
	extension.UnimplementedEnvoyGatewayExtensionServer

	clusterDomain string
	routes        RouteReader // nil: no route lookups
	log           *slog.Logger
}

// routeTimeout bounds reading an HTTPRoute. Envoy Gateway calls the hook
// with no deadline and waits for the answer before it publishes anything.
const routeTimeout = 5 * time.Second

// NewExtension returns the hooks for a cluster whose DNS domain is
// clusterDomain (the kubelet's --cluster-domain, usually cluster.local).
// routes reads the HTTPRoutes whose backendRefs give the port; with nil the
// port always comes from the TailscaleServices (its annotation or single tcp
// port).
func NewExtension(clusterDomain string, routes RouteReader, log *slog.Logger) (*Extension, error) {
	if err := translate.CheckClusterDomain(clusterDomain); err != nil {
		return nil, err
	}
	return &Extension{clusterDomain: clusterDomain, routes: routes, log: log}, nil
}

// PostClusterModify points the cluster Envoy Gateway built for a
// TailscaleServices backendRef at the TailscaleServices' in-cluster Service.
func (e *Extension) PostClusterModify(ctx context.Context, req *extension.PostClusterModifyRequest) (*extension.PostClusterModifyResponse, error) {
	resources := resourceBytes(req.GetPostClusterContext().GetBackendExtensionResources())
	var route *gwapiv1.HTTPRoute
	if len(resources) > 0 {
		route = e.route(ctx, req.GetCluster().GetName())
	}
	cluster, backend, err := translate.Cluster(req.GetCluster(), resources, e.clusterDomain, route)
	if err != nil {
		// Only names go to the log: the resources may carry annotations or
		// other fields their owners did not mean to publish.
		e.log.Warn("refused to rewrite the cluster of a TailscaleServices backend", "cluster", req.GetCluster().GetName(), "error", err)
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if backend == nil {
		e.log.Debug("no TailscaleServices among the backend resources; cluster unchanged", "cluster", cluster.GetName())
	} else {
		e.log.Debug("pointed a cluster at a TailscaleServices", "cluster", cluster.GetName(), "tailscaleServices", backend.String(),
			"address", net.JoinHostPort(backend.Host(e.clusterDomain), strconv.FormatUint(uint64(backend.Port), 10)))
	}
	return &extension.PostClusterModifyResponse{Cluster: cluster}, nil
}

// route reads the HTTPRoute a cluster name names, or returns nil, having
// logged why, so that the port comes from the TailscaleServices instead.
func (e *Extension) route(ctx context.Context, clusterName string) *gwapiv1.HTTPRoute {
	if e.routes == nil {
		e.log.Debug("route lookups are off; the port comes from the TailscaleServices", "cluster", clusterName)
		return nil
	}
	rule, ok := translate.ParseClusterName(clusterName)
	if !ok {
		e.log.Warn("the cluster is not named after an HTTPRoute rule (httproute/<namespace>/<name>/rule/<i>), so its backendRef's port cannot be read; the port comes from the TailscaleServices", "cluster", clusterName)
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, routeTimeout)
	defer cancel()
	route, err := e.routes.GetHTTPRoute(ctx, rule.Namespace, rule.Name)
	switch {
	case apierrors.IsNotFound(err):
		e.log.Warn("the HTTPRoute of the cluster was not found; the port comes from the TailscaleServices", "cluster", clusterName, "httpRoute", rule.String())
		return nil
	case err != nil:
		e.log.Warn("could not read the HTTPRoute of the cluster; the port comes from the TailscaleServices", "cluster", clusterName, "httpRoute", rule.String(), "error", err)
		return nil
	case route == nil:
		return nil
	}
	return route
}

func resourceBytes(resources []*extension.ExtensionResource) [][]byte {
	out := make([][]byte, len(resources))
	for i, r := range resources {
		out[i] = r.GetUnstructuredBytes()
	}
	return out
}

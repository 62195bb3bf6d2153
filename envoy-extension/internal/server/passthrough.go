package server

import (
	"context"

	"github.com/envoyproxy/gateway/proto/extension"
)

// The hooks below are not used: the README's EnvoyGateway config lists only
// the Cluster hook. Should one be configured anyway, it changes nothing.
// Returning the input matters most for PostTranslateModify, whose lists
// Envoy Gateway takes as the complete set of resources.

// PostRouteModify returns the route unchanged.
func (e *Extension) PostRouteModify(_ context.Context, req *extension.PostRouteModifyRequest) (*extension.PostRouteModifyResponse, error) {
	e.log.Debug("unused hook called; returned its input", "hook", "PostRouteModify")
	return &extension.PostRouteModifyResponse{Route: req.GetRoute()}, nil
}

// PostVirtualHostModify returns the virtual host unchanged.
func (e *Extension) PostVirtualHostModify(_ context.Context, req *extension.PostVirtualHostModifyRequest) (*extension.PostVirtualHostModifyResponse, error) {
	e.log.Debug("unused hook called; returned its input", "hook", "PostVirtualHostModify")
	return &extension.PostVirtualHostModifyResponse{VirtualHost: req.GetVirtualHost()}, nil
}

// PostHTTPListenerModify returns the listener unchanged.
func (e *Extension) PostHTTPListenerModify(_ context.Context, req *extension.PostHTTPListenerModifyRequest) (*extension.PostHTTPListenerModifyResponse, error) {
	e.log.Debug("unused hook called; returned its input", "hook", "PostHTTPListenerModify")
	return &extension.PostHTTPListenerModifyResponse{Listener: req.GetListener()}, nil
}

// PostEndpointsModify returns the load assignment unchanged.
func (e *Extension) PostEndpointsModify(_ context.Context, req *extension.PostEndpointsModifyRequest) (*extension.PostEndpointsModifyResponse, error) {
	e.log.Debug("unused hook called; returned its input", "hook", "PostEndpointsModify")
	return &extension.PostEndpointsModifyResponse{LoadAssignment: req.GetLoadAssignment()}, nil
}

// PostTranslateModify returns every resource it was sent.
func (e *Extension) PostTranslateModify(_ context.Context, req *extension.PostTranslateModifyRequest) (*extension.PostTranslateModifyResponse, error) {
	e.log.Debug("unused hook called; returned its input", "hook", "PostTranslateModify")
	return &extension.PostTranslateModifyResponse{
		Clusters:  req.GetClusters(),
		Secrets:   req.GetSecrets(),
		Listeners: req.GetListeners(),
		Routes:    req.GetRoutes(),
	}, nil
}

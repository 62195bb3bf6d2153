package envoygateway

import (
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
)

// routeConfigNames are the RDS route configurations a listener's HTTP
// connection managers ask for.
func routeConfigNames(l *listenerv3.Listener) []string {
	var names []string
	for _, hcm := range connectionManagers(l) {
		if n := hcm.GetRds().GetRouteConfigName(); n != "" {
			names = append(names, n)
		}
	}
	return names
}

func connectionManagers(l *listenerv3.Listener) []*hcmv3.HttpConnectionManager {
	chains := append([]*listenerv3.FilterChain{}, l.GetFilterChains()...)
	if d := l.GetDefaultFilterChain(); d != nil {
		chains = append(chains, d)
	}
	var out []*hcmv3.HttpConnectionManager
	for _, chain := range chains {
		for _, f := range chain.GetFilters() {
			hcm := &hcmv3.HttpConnectionManager{}
			if f.GetTypedConfig().MessageIs(hcm) && f.GetTypedConfig().UnmarshalTo(hcm) == nil {
				out = append(out, hcm)
			}
		}
	}
	return out
}

// routeTo finds, in the route configurations of the listeners, the route
// whose match is the path prefix, and returns the cluster it sends to and
// the name of its route configuration. The route config of an HTTP
// listener of Envoy Gateway is named after the listener
// (<namespace>/<gateway>/<listener>).
func routeTo(s xdsSnapshot, prefix string) (cluster, routeConfig string, route *routev3.Route) {
	for _, l := range s.listeners {
		for _, name := range routeConfigNames(l) {
			rc, ok := s.routes[name]
			if !ok {
				continue
			}
			for _, vh := range rc.GetVirtualHosts() {
				for _, r := range vh.GetRoutes() {
					if matchesPrefix(r.GetMatch(), prefix) {
						return r.GetRoute().GetCluster(), name, r
					}
				}
			}
		}
	}
	return "", "", nil
}

// matchesPrefix: Envoy Gateway translates a PathPrefix match "/api/" into
// a path_separated_prefix "/api" (a trailing slash is dropped), or a plain
// prefix when the value does not suit that.
func matchesPrefix(m *routev3.RouteMatch, prefix string) bool {
	trimmed := prefix
	if len(trimmed) > 1 && trimmed[len(trimmed)-1] == '/' {
		trimmed = trimmed[:len(trimmed)-1]
	}
	switch {
	case m.GetPathSeparatedPrefix() != "":
		return m.GetPathSeparatedPrefix() == trimmed
	case m.GetPrefix() != "":
		return m.GetPrefix() == prefix || m.GetPrefix() == trimmed
	}
	return false
}

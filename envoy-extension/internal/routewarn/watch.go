package routewarn

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Controller is the reportingController of the Events.
const Controller = "gateway.tailscale.com/envoy-extension"

// discoveryRetry is how long Run waits to ask the API server again which
// route kinds it serves, when it could not answer.
const discoveryRetry = 10 * time.Second

// Run warns on the routes of every kind of routeKinds the API server serves
// (asked once, at start: a CRD installed later needs a restart, as it does
// for Envoy Gateway) until ctx ends. cfg needs list and watch on those
// routes and create and patch on events.k8s.io Events. With none served it
// logs so and returns nil. Its errors are the caller's to log: the hooks
// do not depend on it.
func Run(ctx context.Context, cfg *rest.Config, log *slog.Logger) error {
	scheme := runtime.NewScheme()
	if err := gwapiv1.Install(scheme); err != nil {
		return err
	}
	mgr, err := manager.New(cfg, manager.Options{
		Scheme: scheme,
		Logger: logr.FromSlogHandler(log.Handler()),
		// No metrics or probe listener (the extension has its own health
		// service) and no leader election: every replica warns, each once
		// per route generation, which spares the extension the RBAC on
		// Leases.
		Metrics: metricsserver.Options{BindAddress: "0"},
		// Tests run it more than once in one process.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		return fmt.Errorf("watching routes: %w", err)
	}
	kinds, err := servedKinds(ctx, mgr.GetRESTMapper(), log)
	if err != nil {
		return err
	}
	if len(kinds) == 0 {
		log.Info("no GRPCRoute, TCPRoute, TLSRoute or UDPRoute served in gateway.networking.k8s.io/v1: no route warned about")
		return nil
	}
	var names []string
	for _, k := range kinds {
		r := &reconciler{kind: k, client: mgr.GetClient(), recorder: mgr.GetEventRecorder(Controller), log: log, warned: map[key]int64{}}
		// Envoy Gateway writes the routes' status often; only a new
		// generation can change their backendRefs.
		err := builder.ControllerManagedBy(mgr).Named("routewarn-"+k.kind).
			For(k.new(), builder.WithPredicates(predicate.GenerationChangedPredicate{})).Complete(r)
		if err != nil {
			return fmt.Errorf("watching %ss: %w", k.kind, err)
		}
		names = append(names, k.kind)
	}
	log.Info("warning with an Event on each route of these kinds naming a TailscaleServices", "kinds", names, "reason", Reason)
	return mgr.Start(ctx)
}

// servedKinds are the route kinds served in gateway.networking.k8s.io/v1,
// asking again every discoveryRetry while the API server cannot say.
func servedKinds(ctx context.Context, mapper meta.RESTMapper, log *slog.Logger) ([]routeKind, error) {
	for {
		kinds, err := served(mapper, log)
		if err == nil {
			return kinds, nil
		}
		log.Warn("could not ask the API server which route kinds it serves; asking again", "error", err, "in", discoveryRetry.String())
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(discoveryRetry):
		}
	}
}

func served(mapper meta.RESTMapper, log *slog.Logger) ([]routeKind, error) {
	var kinds []routeKind
	for _, k := range routeKinds {
		_, err := mapper.RESTMapping(schema.GroupKind{Group: gwapiv1.GroupName, Kind: k.kind}, gwapiv1.GroupVersion.Version)
		switch {
		case meta.IsNoMatchError(err):
			log.Info("not watched: the API server does not serve it", "kind", k.kind, "apiVersion", gwapiv1.GroupVersion.String())
		case err != nil:
			return nil, fmt.Errorf("%s: %w", k.kind, err)
		default:
			kinds = append(kinds, k)
		}
	}
	return kinds, nil
}

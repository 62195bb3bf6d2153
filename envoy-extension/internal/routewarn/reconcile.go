package routewarn

import (
	"context"
	"log/slog"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// action is the Event's action, which events.k8s.io/v1 requires.
const action = "CheckBackendRefs"

type key struct{ namespace, name string }

// reconciler warns on the routes of one kind.
type reconciler struct {
	kind     routeKind
	client   client.Client
	recorder events.EventRecorder
	log      *slog.Logger

	mu sync.Mutex
	// warned is the generation last warned about, per route: the
	// controller also reconciles on every resync and restart of its
	// watch, and a route warned about once per generation is enough.
	warned map[key]int64
}

func (r *reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	k := key{req.Namespace, req.Name}
	route := r.kind.new()
	err := r.client.Get(ctx, req.NamespacedName, route)
	if apierrors.IsNotFound(err) {
		r.forget(k)
		return reconcile.Result{}, nil
	}
	if err != nil {
		return reconcile.Result{}, err
	}
	refs := Find(route.GetNamespace(), r.kind.rules(route))
	if len(refs) == 0 {
		r.forget(k)
		return reconcile.Result{}, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if gen, ok := r.warned[k]; ok && gen == route.GetGeneration() {
		return reconcile.Result{}, nil
	}
	note := Note(r.kind.kind, route.GetNamespace(), refs)
	r.recorder.Eventf(route, nil, corev1.EventTypeWarning, Reason, action, "%s", note)
	r.warned[k] = route.GetGeneration()
	r.log.Warn("a route names a TailscaleServices, which Envoy Gateway gives no endpoints outside an HTTPRoute; warned with an Event on the route",
		"kind", r.kind.kind, "route", req.String(), "generation", route.GetGeneration(), "backendRefs", len(refs))
	return reconcile.Result{}, nil
}

func (r *reconciler) forget(k key) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.warned, k)
}

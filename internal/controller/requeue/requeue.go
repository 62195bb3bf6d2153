// Package requeue keeps optimistic-concurrency conflicts out of the error
// path of reconcilers.
//
// A write that fails with 409 Conflict means the object changed since the
// reconciler read it, and a create that fails with AlreadyExists means it
// was made since; both usually because the informer cache had not yet seen
// the reconciler's own previous write. That is expected and not a failure:
// the change that caused it queues the object again. controller-runtime
// would log each one as "Reconciler error" with a stack trace, and back off
// exponentially as for real errors; here it becomes a quiet, prompt retry.
package requeue

import (
	"context"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// ConflictRetry is how soon a reconcile that met a conflict runs again, in
// case no watch event brings it back first.
const ConflictRetry = time.Second

// OnConflict wraps r: a Conflict or AlreadyExists error from r becomes a requeue after
// ConflictRetry, logged at debug level; every other result passes through.
func OnConflict(r reconcile.Reconciler) reconcile.Reconciler {
	return reconcile.Func(func(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
		res, err := r.Reconcile(ctx, req)
		if err != nil && (apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err)) {
			log.FromContext(ctx).V(1).Info("object changed while reconciling; retrying", "error", err.Error())
			return reconcile.Result{RequeueAfter: ConflictRetry}, nil
		}
		return res, err
	})
}

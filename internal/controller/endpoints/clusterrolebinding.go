package endpoints

import (
	"context"
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
)

// The pool's ClusterRoleBinding (ClusterRoleBinding) is kept apart from its
// namespaced objects: it cannot have the pool as its owner, so ensure's
// adoption by controller reference does not apply, and garbage collection
// does not remove it. Whose it is is said by its labels; the pool's
// finalizer deletes it (deleteClusterRoleBinding).

// ensureClusterRoleBinding creates the pool's binding, or brings an
// existing one of ours back to what the builder says. One that is not
// labelled as ours is left alone (a *TakenError); the operator caches only
// bindings labelled managed-by, so such a binding shows as AlreadyExists.
func (r *Reconciler) ensureClusterRoleBinding(ctx context.Context, ep *gatewayv1alpha1.TailscaleEndpoints) (controllerutil.OperationResult, error) {
	desired := ClusterRoleBinding(ep)
	actual := &rbacv1.ClusterRoleBinding{}
	err := r.Client.Get(ctx, client.ObjectKeyFromObject(desired), actual)
	if apierrors.IsNotFound(err) {
		err = r.Client.Create(ctx, desired)
		if apierrors.IsAlreadyExists(err) {
			return controllerutil.OperationResultNone, &TakenError{Why: fmt.Sprintf("is not labelled %s=%s", pool.LabelManagedBy, pool.ManagedBy)}
		}
		return controllerutil.OperationResultCreated, err
	}
	if err != nil {
		return controllerutil.OperationResultNone, err
	}
	if actual.Labels[pool.LabelManagedBy] != pool.ManagedBy {
		return controllerutil.OperationResultNone, &TakenError{Why: fmt.Sprintf("is not labelled %s=%s", pool.LabelManagedBy, pool.ManagedBy)}
	}
	if actual.RoleRef != desired.RoleRef {
		// roleRef is immutable: replace the binding.
		if err := r.Client.Delete(ctx, actual, client.Preconditions{UID: &actual.UID}); client.IgnoreNotFound(err) != nil {
			return controllerutil.OperationResultNone, err
		}
		return controllerutil.OperationResultUpdated, r.Client.Create(ctx, desired)
	}
	if equality.Semantic.DeepDerivative(desired.Labels, actual.Labels) && equality.Semantic.DeepEqual(desired.Subjects, actual.Subjects) {
		return controllerutil.OperationResultNone, nil
	}
	mergeLabels(desired, actual)
	actual.Subjects = desired.Subjects
	return controllerutil.OperationResultUpdated, r.Client.Update(ctx, actual)
}

// deleteClusterRoleBinding deletes the pool's binding, if it is there and
// labelled as the pool's.
func (r *Reconciler) deleteClusterRoleBinding(ctx context.Context, ep *gatewayv1alpha1.TailscaleEndpoints) error {
	crb := &rbacv1.ClusterRoleBinding{}
	err := r.Client.Get(ctx, client.ObjectKey{Name: pool.ProxyAuthBindingName(ep.Namespace, ep.Name)}, crb)
	if err != nil {
		return client.IgnoreNotFound(err)
	}
	if !isBindingOf(crb, ep.Namespace, ep.Name) {
		return nil
	}
	return client.IgnoreNotFound(r.Client.Delete(ctx, crb, client.Preconditions{UID: &crb.UID}))
}

func isBindingOf(crb *rbacv1.ClusterRoleBinding, namespace, poolName string) bool {
	l := crb.Labels
	return l[pool.LabelManagedBy] == pool.ManagedBy && l[pool.LabelPool] == poolName && l[pool.LabelPoolNamespace] == namespace
}

// poolOfBinding maps a pool's ClusterRoleBinding to the pool.
func (r *Reconciler) poolOfBinding(_ context.Context, obj client.Object) []reconcile.Request {
	l := obj.GetLabels()
	if l[pool.LabelManagedBy] != pool.ManagedBy || l[pool.LabelPool] == "" || l[pool.LabelPoolNamespace] == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: l[pool.LabelPoolNamespace], Name: l[pool.LabelPool]}}}
}

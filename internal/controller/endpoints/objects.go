package endpoints

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/backend"
	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
)

// ensureObjects keeps every Kubernetes object of the pool as built. It
// goes on after a failure so one bad object does not hold up the others.
func (r *Reconciler) ensureObjects(ctx context.Context, ep *gatewayv1alpha1.TailscaleEndpoints) error {
	a := applier{client: r.Client, scheme: r.Scheme, pool: ep}
	sa, role, binding, svc := ServiceAccount(ep), Role(ep), RoleBinding(ep), HeadlessService(ep)
	errs := []error{
		r.announceCreated(ep, "ServiceAccount", sa.Name)(ensure(ctx, a, serviceAccounts, sa)),
		r.announceCreated(ep, "Role", role.Name)(ensure(ctx, a, roles, role)),
		r.announceCreated(ep, "RoleBinding", binding.Name)(ensure(ctx, a, roleBindings, binding)),
		r.announceCreated(ep, "ClusterRoleBinding", pool.ProxyAuthBindingName(ep.Namespace, ep.Name))(r.ensureClusterRoleBinding(ctx, ep)),
		r.announceCreated(ep, "Service", svc.Name)(ensure(ctx, a, services, svc)),
		r.ensurePodDisruptionBudget(ctx, a, ep),
	}
	for _, pod := range podNames(ep) {
		state := StateSecret(ep, pod)
		errs = append(errs, r.announceCreated(ep, "Secret", state.Name)(ensure(ctx, a, stateSecrets, state)))
	}
	errs = append(errs, r.ensureStatefulSet(ctx, a, ep))
	return errors.Join(errs...)
}

// announceCreated returns a function that takes ensure's results, emits an
// Event for a created object and passes the error on, naming the object.
func (r *Reconciler) announceCreated(ep *gatewayv1alpha1.TailscaleEndpoints, kindName, name string) func(controllerutil.OperationResult, error) error {
	return func(op controllerutil.OperationResult, err error) error {
		if err != nil {
			return fmt.Errorf("%s %s: %w", kindName, name, err)
		}
		if op == controllerutil.OperationResultCreated {
			r.normal(ep, EventCreated, "Create", "created %s %s", kindName, name)
		}
		return nil
	}
}

func (r *Reconciler) ensureStatefulSet(ctx context.Context, a applier, ep *gatewayv1alpha1.TailscaleEndpoints) error {
	desired := StatefulSet(ep, r.proxyOptions())
	var before int32 = -1
	existing := statefulSets.empty()
	if err := r.Client.Get(ctx, client.ObjectKeyFromObject(desired), existing); err == nil && existing.Spec.Replicas != nil {
		before = *existing.Spec.Replicas
	}
	op, err := ensure(ctx, a, statefulSets, desired)
	if err := r.announceCreated(ep, "StatefulSet", desired.Name)(op, err); err != nil {
		return err
	}
	if op == controllerutil.OperationResultUpdated && before >= 0 && before != desiredReplicas(ep) {
		r.normal(ep, EventScaled, "Scale", "scaled StatefulSet %s from %d to %d machine(s)", desired.Name, before, desiredReplicas(ep))
	}
	return nil
}

// ensurePodDisruptionBudget keeps a budget for pools of two or more and
// removes it from smaller pools.
func (r *Reconciler) ensurePodDisruptionBudget(ctx context.Context, a applier, ep *gatewayv1alpha1.TailscaleEndpoints) error {
	name := pool.PodDisruptionBudgetName(ep.Name)
	if desired, ok := PodDisruptionBudget(ep); ok {
		return r.announceCreated(ep, "PodDisruptionBudget", name)(ensure(ctx, a, podDisruptionBudgets, desired))
	}
	existing := &policyv1.PodDisruptionBudget{}
	err := r.Client.Get(ctx, client.ObjectKey{Namespace: ep.Namespace, Name: name}, existing)
	if apierrors.IsNotFound(err) || (err == nil && !metav1.IsControlledBy(existing, ep)) {
		return nil
	}
	if err != nil {
		return err
	}
	return client.IgnoreNotFound(r.Client.Delete(ctx, existing, client.Preconditions{UID: &existing.UID}))
}

// poolReplicas reads the pool's Secrets (from the cache) by replica.
func (r *Reconciler) poolReplicas(ctx context.Context, ep *gatewayv1alpha1.TailscaleEndpoints) (map[int]*replica, error) {
	list := &corev1.SecretList{}
	if err := r.Client.List(ctx, list, client.InNamespace(ep.Namespace), client.MatchingLabels{pool.LabelPool: ep.Name}); err != nil {
		return nil, err
	}
	owned := list.Items[:0]
	for _, s := range list.Items {
		if metav1.IsControlledBy(&s, ep) {
			owned = append(owned, s)
		}
	}
	return replicasFromSecrets(ep, owned), nil
}

// resolveBackend says what, if anything, keeps the pool's backend from
// resolving. Egress pools forward to the tailnet and have none.
func (r *Reconciler) resolveBackend(ctx context.Context, ep *gatewayv1alpha1.TailscaleEndpoints) (*backend.Problem, error) {
	if ep.Spec.Proxy.ConnectionType == gatewayv1alpha1.ConnectionTypeEgress {
		return nil, nil
	}
	var svc *corev1.Service
	slices := &discoveryv1.EndpointSliceList{}
	if name := backend.ServiceName(ep); name != "" {
		s := &corev1.Service{}
		switch err := r.Client.Get(ctx, client.ObjectKey{Namespace: ep.Namespace, Name: name}, s); {
		case err == nil:
			svc = s
		case !apierrors.IsNotFound(err):
			return nil, err
		}
		if err := r.Client.List(ctx, slices, client.InNamespace(ep.Namespace), client.MatchingLabels{discoveryv1.LabelServiceName: name}); err != nil {
			return nil, err
		}
	}
	_, problem := backend.Resolve(ep, svc, slices.Items)
	return problem, nil
}

package services

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/planner"
)

// +kubebuilder:rbac:groups=gateway.tailscale.com,resources=tailscaleendpoints,verbs=create;update;delete

// provision keeps the auto-provisioned pool: present while the template is
// set and no other pool is selected, absent otherwise. It returns the pools
// to serve the service and, when the template cannot be honoured, why.
func (r *Reconciler) provision(ctx context.Context, ts *gatewayv1alpha1.TailscaleServices, eps []gatewayv1alpha1.TailscaleEndpoints) ([]gatewayv1alpha1.TailscaleEndpoints, *planner.Problem, error) {
	name := planner.AutoPoolName(ts)
	others := slices.DeleteFunc(slices.Clone(eps), func(ep gatewayv1alpha1.TailscaleEndpoints) bool {
		return ep.Name == name && metav1.IsControlledBy(&ep, ts)
	})
	if ts.Spec.EndpointTemplate == nil || len(others) > 0 {
		return others, nil, r.deleteAutoPool(ctx, ts)
	}
	desired, problem := planner.AutoPool(ts)
	if problem != nil {
		r.warnOnce(ts, gatewayv1alpha1.ConditionAutoProvisioned, problem.Reason, problem)
		return others, problem, r.deleteAutoPool(ctx, ts)
	}
	if err := controllerutil.SetControllerReference(ts, desired, r.Client.Scheme()); err != nil {
		return nil, nil, err
	}
	current := &gatewayv1alpha1.TailscaleEndpoints{}
	err := r.Client.Get(ctx, client.ObjectKeyFromObject(desired), current)
	switch {
	case client.IgnoreNotFound(err) != nil:
		return nil, nil, err
	case err != nil:
		if err := r.Client.Create(ctx, desired); err != nil {
			return nil, nil, err
		}
		r.Recorder.Eventf(ts, desired, corev1.EventTypeNormal, "AutoProvisioned", "Provision", "created TailscaleEndpoints %s from spec.endpointTemplate", name)
		return []gatewayv1alpha1.TailscaleEndpoints{*desired}, nil, nil
	case !metav1.IsControlledBy(current, ts):
		return others, &planner.Problem{Reason: gatewayv1alpha1.ReasonAutoPoolNameTaken, Message: fmt.Sprintf(
			"TailscaleEndpoints %s exists and was not provisioned by this TailscaleServices; rename or delete it", name)}, nil
	}
	if !equality.Semantic.DeepEqual(current.Spec, desired.Spec) || !equality.Semantic.DeepEqual(current.Labels, desired.Labels) {
		current.Spec, current.Labels = desired.Spec, desired.Labels
		current.Annotations = mergeAnnotations(current.Annotations, desired.Annotations)
		if err := r.Client.Update(ctx, current); err != nil {
			return nil, nil, err
		}
	}
	return []gatewayv1alpha1.TailscaleEndpoints{*current}, nil, nil
}

// deleteAutoPool deletes the auto-provisioned pool if it exists.
func (r *Reconciler) deleteAutoPool(ctx context.Context, ts *gatewayv1alpha1.TailscaleServices) error {
	current := &gatewayv1alpha1.TailscaleEndpoints{}
	err := r.Client.Get(ctx, client.ObjectKey{Namespace: ts.Namespace, Name: planner.AutoPoolName(ts)}, current)
	if err != nil || !metav1.IsControlledBy(current, ts) || current.DeletionTimestamp != nil {
		return client.IgnoreNotFound(err)
	}
	if err := r.Client.Delete(ctx, current); client.IgnoreNotFound(err) != nil {
		return err
	}
	r.Recorder.Eventf(ts, current, corev1.EventTypeNormal, "AutoProvisionedDeleted", "Provision", "deleted TailscaleEndpoints %s: no longer needed", current.Name)
	return nil
}

func mergeAnnotations(have, want map[string]string) map[string]string {
	if have == nil {
		have = map[string]string{}
	}
	for k, v := range want {
		have[k] = v
	}
	return have
}

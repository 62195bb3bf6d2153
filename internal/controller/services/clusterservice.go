package services

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/planner"
)

// ensureClusterService creates or updates the in-cluster Service, owned by
// the TailscaleServices (garbage collected with it). A Service of that name
// that is not ours is left alone: the problem says so.
func (r *Reconciler) ensureClusterService(ctx context.Context, ts *gatewayv1alpha1.TailscaleServices, s planner.Service) (*planner.Problem, error) {
	if planner.ClusterServiceCheck(s) != nil {
		// No Service can be made (the status says why, from the same
		// check): remove ours, e.g. once the ports went away or
		// spec.clusterService turned it off.
		return nil, r.deleteClusterService(ctx, ts)
	}
	want := ClusterService(ts, planner.ClusterServicePorts(s))
	if err := controllerutil.SetControllerReference(ts, want, r.Client.Scheme()); err != nil {
		return nil, err
	}
	have := &corev1.Service{}
	err := r.Client.Get(ctx, client.ObjectKeyFromObject(want), have)
	switch {
	case apierrors.IsNotFound(err):
		return nil, r.Client.Create(ctx, want)
	case err != nil:
		return nil, err
	case !metav1.IsControlledBy(have, ts):
		msg := fmt.Sprintf("a Service named %s already exists and is not this TailscaleServices'; it is left alone, so clients in the cluster cannot reach the VIP service: rename or delete that Service", want.Name)
		if c := meta.FindStatusCondition(ts.Status.Conditions, gatewayv1alpha1.ConditionClusterServiceReady); c == nil || c.Reason != gatewayv1alpha1.ReasonNameTaken {
			// Once, when it starts: the condition keeps saying it.
			r.Recorder.Eventf(ts, nil, corev1.EventTypeWarning, "ClusterServiceNameTaken", "CreateService", msg)
		}
		return &planner.Problem{Reason: gatewayv1alpha1.ReasonNameTaken, Message: msg}, nil
	case equality.Semantic.DeepEqual(have.Spec.Ports, want.Spec.Ports) && equality.Semantic.DeepEqual(have.Labels, want.Labels):
		return nil, nil
	}
	have.Spec.Ports, have.Labels = want.Spec.Ports, want.Labels
	return nil, r.Client.Update(ctx, have)
}

// clusterServiceFailure is the ClusterServiceReady problem of a write the
// API server refused, with the API server's reason (Invalid, Forbidden…).
func clusterServiceFailure(tsName string, err error) *planner.Problem {
	reason := string(apierrors.ReasonForError(err))
	if reason == "" || reason == string(metav1.StatusReasonUnknown) {
		reason = gatewayv1alpha1.ReasonApplyFailed
	}
	return &planner.Problem{Reason: reason, Message: fmt.Sprintf(
		"the API server refused the in-cluster Service %s; the VIP service is not affected, clients in the cluster cannot reach it until this is fixed: %v",
		planner.InClusterServiceName(tsName), err)}
}

// deleteClusterService removes the in-cluster Service if it is ours.
func (r *Reconciler) deleteClusterService(ctx context.Context, ts *gatewayv1alpha1.TailscaleServices) error {
	have := &corev1.Service{}
	err := r.Client.Get(ctx, client.ObjectKey{Namespace: ts.Namespace, Name: planner.InClusterServiceName(ts.Name)}, have)
	if err != nil || !metav1.IsControlledBy(have, ts) {
		return client.IgnoreNotFound(err)
	}
	return client.IgnoreNotFound(r.Client.Delete(ctx, have))
}

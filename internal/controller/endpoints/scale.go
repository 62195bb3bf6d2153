package endpoints

import (
	"context"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tsapi"
)

// podGoneDelay is how often a scale-down checks that a removed machine's
// pod has stopped.
const podGoneDelay = 5 * time.Second

// removeExtraReplicas releases the machines of ordinals at or above the
// replica count once their pods are gone: their device leaves the tailnet,
// their key is revoked, and their Secrets are deleted. waiting is true
// while a pod is still stopping (it may still use its state).
func (r *Reconciler) removeExtraReplicas(ctx context.Context, ep *gatewayv1alpha1.TailscaleEndpoints, api tsapi.Client, replicas map[int]*replica) (waiting bool, err error) {
	inv := &inventory{api: api}
	for _, ordinal := range extraOrdinals(ep, replicas) {
		rep := replicas[ordinal]
		running, err := r.podExists(ctx, ep.Namespace, rep.pod)
		if err != nil {
			return waiting, err
		}
		if running {
			waiting = true
			continue
		}
		if err := r.removeReplica(ctx, ep, inv, rep); err != nil {
			return waiting, fmt.Errorf("removing machine %s: %w", rep.pod, err)
		}
		r.normal(ep, EventReplicaRemoved, "Scale", "removed machine %s: its device, auth key and Secrets are gone", rep.pod)
	}
	return waiting, nil
}

// extraOrdinals are the ordinals with Secrets beyond the replica count, highest first.
func extraOrdinals(ep *gatewayv1alpha1.TailscaleEndpoints, replicas map[int]*replica) []int {
	var out []int
	for ordinal := range replicas {
		if ordinal >= int(desiredReplicas(ep)) {
			out = append(out, ordinal)
		}
	}
	slices.Sort(out)
	slices.Reverse(out)
	return out
}

// removeReplica works in an order that can be repeated after any failure:
// the tailnet first, while the Secrets still hold the IDs.
func (r *Reconciler) removeReplica(ctx context.Context, ep *gatewayv1alpha1.TailscaleEndpoints, inv *inventory, rep *replica) error {
	if _, _, err := r.release(ctx, ep, inv, rep); err != nil {
		return err
	}
	for _, s := range []*corev1.Secret{rep.authKey, rep.state} {
		if err := r.deleteSecret(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// deleteSecret deletes one of the pool's Secrets, letting go of an auth
// key Secret first: its machine is out of the tailnet by now.
func (r *Reconciler) deleteSecret(ctx context.Context, s *corev1.Secret) error {
	if s == nil {
		return nil
	}
	if err := r.letGo(ctx, s); err != nil {
		return err
	}
	return client.IgnoreNotFound(r.Client.Delete(ctx, s, client.Preconditions{UID: &s.UID}))
}

// letGo removes IdentityFinalizer from an auth key Secret.
func (r *Reconciler) letGo(ctx context.Context, s *corev1.Secret) error {
	if s == nil || !controllerutil.ContainsFinalizer(s, IdentityFinalizer) {
		return nil
	}
	s = s.DeepCopy()
	controllerutil.RemoveFinalizer(s, IdentityFinalizer)
	return client.IgnoreNotFound(r.Client.Update(ctx, s))
}

func (r *Reconciler) podExists(ctx context.Context, namespace, name string) (bool, error) {
	err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &corev1.Pod{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

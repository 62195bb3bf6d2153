package endpoints

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
)

// Event reasons. Event notes name objects, never credentials.
const (
	EventCreated        = "Created"
	EventScaled         = "Scaled"
	EventAuthKeyMinted  = "AuthKeyMinted"
	EventAuthKeyExpired = "AuthKeyExpired"
	EventReplicaRemoved = "ReplicaRemoved"
	EventReleased       = "TailnetCleanedUp"
	EventTailnetGone    = "TailnetGone"
	EventCleanupBlocked = "CleanupBlocked"
	// EventCleanupSkipped: an administrator asked to skip the cleanup.
	EventCleanupSkipped = "CleanupSkipped"
	// EventCleanupAbandoned: the cleanup kept failing for the cleanup bound.
	EventCleanupAbandoned = "CleanupAbandoned"
	// EventDeviceNotOwned: a device could not be proven the machine's, so
	// it was not deleted.
	EventDeviceNotOwned = "DeviceNotOwned"
	// EventAuthKeyNotOwned: a key could not be proven the machine's, so it
	// was not revoked.
	EventAuthKeyNotOwned = "AuthKeyNotOwned"
	// EventOrphanKeyRevoked: a key minted for the pool that no Secret held
	// (an interrupted mint) was revoked.
	EventOrphanKeyRevoked = "OrphanAuthKeyRevoked"
)

func (r *Reconciler) normal(ep *gatewayv1alpha1.TailscaleEndpoints, reason, action, note string, args ...any) {
	r.Recorder.Eventf(ep, nil, corev1.EventTypeNormal, reason, action, note, args...)
}

func (r *Reconciler) warning(ep *gatewayv1alpha1.TailscaleEndpoints, reason, action, note string, args ...any) {
	r.Recorder.Eventf(ep, nil, corev1.EventTypeWarning, reason, action, note, args...)
}

// announceReady emits a Warning when Ready turns False or changes reason,
// once, rather than on every reconcile that finds the same problem.
func (r *Reconciler) announceReady(ep *gatewayv1alpha1.TailscaleEndpoints, want gatewayv1alpha1.TailscaleEndpointsStatus) {
	now := meta.FindStatusCondition(want.Conditions, gatewayv1alpha1.ConditionReady)
	if now == nil || now.Status != metav1.ConditionFalse {
		return
	}
	before := meta.FindStatusCondition(ep.Status.Conditions, gatewayv1alpha1.ConditionReady)
	if before != nil && before.Status == now.Status && before.Reason == now.Reason {
		return
	}
	r.warning(ep, now.Reason, "Reconcile", "%s", now.Message)
}

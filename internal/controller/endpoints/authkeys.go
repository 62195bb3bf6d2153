package endpoints

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tsapi"
)

// ensureAuthKeys mints a key for each replica that has neither a key nor
// a device. A key is minted once: after that its Secret exists, and once
// the machine has joined, its state shows a device. A key that expired
// before its machine joined (a pod that could not start for that long)
// admits nobody: it is revoked and replaced, and the machine's next start
// reads the new one. It returns when the next unused key expires (zero:
// none), for the caller to come back then.
func (r *Reconciler) ensureAuthKeys(ctx context.Context, ep *gatewayv1alpha1.TailscaleEndpoints, inv *inventory, replicas map[int]*replica) (time.Duration, error) {
	// No key for machines whose StatefulSet is someone else's.
	if err := r.checkStatefulSet(ctx, ep); err != nil {
		return 0, err
	}
	var next time.Duration
	for i := range int(desiredReplicas(ep)) {
		m := nameMachine(r.OperatorID, ep, i)
		rep := replicas[i]
		if rep != nil && rep.hasDevice() {
			continue
		}
		if rep != nil && rep.authKey != nil {
			expires, ok := keyExpiry(rep.authKey)
			left := expires.Sub(r.now())
			if !ok || left > 0 {
				if ok && (next == 0 || left < next) {
					next = left
				}
				continue
			}
			if err := r.dropExpiredKey(ctx, ep, inv, rep); err != nil {
				return 0, fmt.Errorf("expired auth key for %s: %w", m.pod, err)
			}
		}
		if err := r.mintAuthKey(ctx, ep, inv, replicas, m); err != nil {
			return 0, fmt.Errorf("auth key for %s: %w", m.pod, err)
		}
	}
	return next, nil
}

// dropExpiredKey revokes an expired, unused key (when the API confirms it
// is the machine's) and deletes its Secret.
func (r *Reconciler) dropExpiredKey(ctx context.Context, ep *gatewayv1alpha1.TailscaleEndpoints, inv *inventory, rep *replica) error {
	id, known := identityOf(rep.authKey)
	if _, err := r.revokeOwnKey(ctx, ep, inv, rep, id, known); err != nil {
		return err
	}
	if err := r.deleteSecret(ctx, rep.authKey); err != nil {
		return err
	}
	r.warning(ep, EventAuthKeyExpired, "ReplaceAuthKey",
		"the auth key of machine %s expired before the machine joined; minting a new one", rep.pod)
	return nil
}

func (r *Reconciler) mintAuthKey(ctx context.Context, ep *gatewayv1alpha1.TailscaleEndpoints, inv *inventory, replicas map[int]*replica, m machineName) error {
	pod := m.pod
	// The cache may not show a Secret written moments ago: ask the API server.
	needed, err := r.needsAuthKey(ctx, ep, pod)
	if err != nil || !needed {
		return err
	}
	// A key minted for this machine before a crash is held by nobody.
	if err := r.revokeOrphanKeys(ctx, ep, inv, replicas); err != nil {
		return err
	}
	api := inv.api
	key, err := api.CreateAuthKey(ctx, authKeyRequest(r.OperatorID, ep, m))
	if err != nil {
		return fmt.Errorf("minting an auth key for machine %s: %w", pod, err)
	}
	log.FromContext(ctx).Info("minted auth key", "pod", pod, "keyID", key.ID, "hostname", m.hostname)
	key.Expires = localExpiry(key, r.now())
	if err := r.Client.Create(ctx, authKeySecret(ep, m, key)); err != nil {
		// A key nobody holds must not stay valid.
		if revokeErr := api.DeleteAuthKey(ctx, key.ID); revokeErr != nil {
			log.FromContext(ctx).Error(revokeErr, "revoking an auth key that could not be stored", "pod", pod, "keyID", key.ID)
		}
		return fmt.Errorf("storing the key: %w", err)
	}
	r.normal(ep, EventAuthKeyMinted, "MintAuthKey", "minted auth key %s for machine %s", key.ID, pod)
	return nil
}

// checkStatefulSet fails with a *TakenError when a StatefulSet of the
// pool's name exists that the pool may not adopt.
func (r *Reconciler) checkStatefulSet(ctx context.Context, ep *gatewayv1alpha1.TailscaleEndpoints) error {
	name := pool.StatefulSetName(ep.Name)
	sts := &appsv1.StatefulSet{}
	err := r.Client.Get(ctx, client.ObjectKey{Namespace: ep.Namespace, Name: name}, sts)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err == nil {
		err = checkAdoptable(sts, ep)
	}
	if err != nil {
		return fmt.Errorf("StatefulSet %s: %w", name, err)
	}
	return nil
}

// needsAuthKey reads the replica's Secrets from the API server: a key is
// needed only if there is no key Secret and the state shows no device. A
// key Secret of the name that the pool does not control is someone
// else's: never used, never adopted (it holds a credential).
func (r *Reconciler) needsAuthKey(ctx context.Context, ep *gatewayv1alpha1.TailscaleEndpoints, pod string) (bool, error) {
	authKey, err := r.liveSecret(ctx, ep.Namespace, pool.AuthKeySecretName(pod))
	if err != nil {
		return false, err
	}
	if authKey != nil {
		if !metav1.IsControlledBy(authKey, ep) {
			return false, fmt.Errorf("auth key Secret %s: %w", authKey.Name, &TakenError{Why: "is not the pool's"})
		}
		return false, nil
	}
	state, err := r.liveSecret(ctx, ep.Namespace, pool.StateSecretName(pod))
	if err != nil {
		return false, err
	}
	return !(&replica{pod: pod, state: state}).hasDevice(), nil
}

// liveSecret reads a Secret from the API server; nil when it does not exist.
func (r *Reconciler) liveSecret(ctx context.Context, namespace, name string) (*corev1.Secret, error) {
	sec := &corev1.Secret{}
	err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, sec)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return sec, nil
}

// localExpiry is when key expires by this operator's clock: now plus the
// key's lifetime as the API states it, so that a clock that disagrees with
// the API's never judges a fresh key expired (and replaces it at once).
func localExpiry(key tsapi.AuthKey, now time.Time) time.Time {
	if key.Expires.IsZero() || key.Created.IsZero() {
		return key.Expires
	}
	return now.Add(key.Expires.Sub(key.Created))
}

// deleteDevice and revokeAuthKey are the pool's writes to the tailnet:
// each says what failed, and is logged once when done.
func deleteDevice(ctx context.Context, api tsapi.Client, id string) error {
	if err := api.DeleteDevice(ctx, id); err != nil {
		return fmt.Errorf("deleting device %s: %w", id, err)
	}
	log.FromContext(ctx).Info("deleted device", "deviceID", id)
	return nil
}

func revokeAuthKey(ctx context.Context, api tsapi.Client, id string) error {
	if err := api.DeleteAuthKey(ctx, id); err != nil {
		return fmt.Errorf("revoking auth key %s: %w", id, err)
	}
	log.FromContext(ctx).Info("revoked auth key", "keyID", id)
	return nil
}

package endpoints

import (
	"context"
	"strconv"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/log"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tsapi"
)

// An operator that crashes between minting a key and storing it in the
// replica's Secret leaves a preauthorized, tagged key that nobody holds.
// The next reconcile mints another for the same replica; before it does
// (and when the pool goes), the keys this operator minted for the pool's
// machines that no Secret of the pool holds are revoked.

// orphanKeys picks, among keys, those described as minted by operatorID
// for a machine of ep (keyDescription) that no Secret holds.
func orphanKeys(keys []tsapi.AuthKeyMeta, operatorID string, ep *gatewayv1alpha1.TailscaleEndpoints, held map[string]bool) []tsapi.AuthKeyMeta {
	var out []tsapi.AuthKeyMeta
	for _, k := range keys {
		if k.Revoked || held[k.ID] {
			continue
		}
		ordinal, ok := describedOrdinal(k.Description)
		if ok && k.Description == keyDescription(operatorID, ep.Namespace, ep.Name, ordinal) {
			out = append(out, k)
		}
	}
	return out
}

// describedOrdinal reads the ordinal a key description ends with.
func describedOrdinal(description string) (int, bool) {
	i := strings.LastIndexByte(description, ' ')
	n, err := strconv.Atoi(description[i+1:])
	return n, i >= 0 && err == nil && n >= 0
}

// revokeOrphanKeys revokes the pool's orphaned keys, once per reconcile.
func (r *Reconciler) revokeOrphanKeys(ctx context.Context, ep *gatewayv1alpha1.TailscaleEndpoints, inv *inventory, replicas map[int]*replica) error {
	if inv.swept {
		return nil
	}
	keys, err := inv.listKeys(ctx)
	if err != nil {
		return err
	}
	held := map[string]bool{}
	for _, rep := range replicas {
		held[rep.authKeyID()] = true
	}
	for _, k := range orphanKeys(keys, r.OperatorID, ep, held) {
		if err := revokeAuthKey(ctx, inv.api, k.ID); err != nil {
			return err
		}
		log.FromContext(ctx).Info("revoked an orphaned auth key: no Secret holds it", "keyID", k.ID, "description", k.Description)
		r.warning(ep, EventOrphanKeyRevoked, "RevokeAuthKey", "revoked auth key %s (%q): minted for the pool but held by no Secret", k.ID, k.Description)
	}
	inv.swept = true
	return nil
}

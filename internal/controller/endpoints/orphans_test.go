package endpoints

import (
	"slices"
	"testing"

	"github.com/tailscale-gateway/tailscale-gateway/internal/tsapi"
)

func TestOrphanKeys(t *testing.T) {
	ep := samplePool(2) // prod/web
	keys := []tsapi.AuthKeyMeta{
		{ID: "held", Description: keyDescription("op-a", "prod", "web", 0)},
		{ID: "orphan", Description: keyDescription("op-a", "prod", "web", 1)},
		{ID: "orphan-of-a-removed-replica", Description: keyDescription("op-a", "prod", "web", 7)},
		{ID: "revoked", Description: keyDescription("op-a", "prod", "web", 1), Revoked: true},
		{ID: "other-operator", Description: keyDescription("op-b", "prod", "web", 1)},
		{ID: "other-namespace", Description: keyDescription("op-a", "dev", "web", 1)},
		{ID: "other-pool", Description: keyDescription("op-a", "prod", "web2", 1)},
		{ID: "someone-elses", Description: "tsgw op-a prod web"},
		{ID: "no-description"},
	}
	var got []string
	for _, k := range orphanKeys(keys, "op-a", ep, map[string]bool{"held": true}) {
		got = append(got, k.ID)
	}
	if want := []string{"orphan", "orphan-of-a-removed-replica"}; !slices.Equal(got, want) {
		t.Errorf("orphanKeys = %v, want %v", got, want)
	}
}

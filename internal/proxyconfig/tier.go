package proxyconfig

import (
	"fmt"
	"slices"
)

// Tier places a backend in the failover strategy's order: traffic goes to
// the most preferred tier that has a healthy backend.
type Tier string

// Tier values, as spelled in the file.
const (
	TierPrimary   Tier = "primary"
	TierSecondary Tier = "secondary"
	TierOther     Tier = "other"
)

// TierNone is reported, never configured: no tier takes traffic, because
// none has a healthy backend (panic mode) or the strategy is not failover.
const TierNone Tier = "none"

// Tiers lists the configurable tiers, most preferred first. Read it, never
// write it.
var Tiers = [...]Tier{TierPrimary, TierSecondary, TierOther}

// Rank is t's place in Tiers, 0 for the most preferred; ok is false for a
// tier that cannot be configured.
func (t Tier) Rank() (rank int, ok bool) {
	i := slices.Index(Tiers[:], t)
	return i, i >= 0
}

// Check returns an error naming the configurable tiers when t is not one.
func (t Tier) Check() error {
	if _, ok := t.Rank(); ok {
		return nil
	}
	return fmt.Errorf("unknown tier %q (want %s)", t, joined(Tiers[:], " or "))
}

package coordination

// Use is what a TailscaleServices does with a VIP service that carries a
// registry.
type Use int

// Uses of a registered VIP service.
const (
	// Own: the service is this TailscaleServices' own (or nobody's: its
	// registry is empty).
	Own Use = iota + 1
	// Join: another TailscaleServices owns it, allows sharing, and this
	// one asks to join; Attach puts it in the registry.
	Join
	// Conflict: the name is taken by a service this TailscaleServices may
	// not share. Nothing of the service is written, but for taking out
	// this TailscaleServices' own entry when it had joined before (Member).
	Conflict
)

func (u Use) String() string {
	switch u {
	case Own:
		return "own"
	case Join:
		return "join"
	case Conflict:
		return "conflict"
	}
	return "unknown"
}

// Decision is what Decide found, with what a Conflict's message needs.
type Decision struct {
	Use Use
	// Owner is the entry that owns the service: the registry's owner, or
	// the oldest consumer when the owner's place is empty.
	Owner Entry
	// Allowed: the owner lets others join (its spec.vipService.sharing.allow).
	Allowed bool
	// Asked: this TailscaleServices asks to join.
	Asked bool
	// Member: this TailscaleServices is in the registry already; on a
	// Conflict it takes its entry out (consent was withdrawn, or it
	// stopped asking).
	Member bool
}

// Decide says whether the TailscaleServices me (its identity, and its
// consent in me.Sharing) owns, joins, or conflicts with a VIP service
// that carries registry r; join is whether it asks to join. Sharing needs
// both sides: the owner's consent, recorded in the registry from its
// spec, and the joiner's request. Staleness does not matter here: an
// owner that stopped refreshing may still be serving, so its consent (or
// its refusal) stands until someone joins by consent and Attach expires
// it.
func Decide(r Registry, me Entry, join bool) Decision {
	if r.Owns(me) {
		return Decision{Use: Own, Owner: r.Owner, Allowed: me.Sharing, Asked: join, Member: true}
	}
	owner := promote(r).Owner
	if owner.OperatorID == "" {
		return Decision{Use: Own, Asked: join} // an empty registry: nobody's
	}
	d := Decision{Use: Conflict, Owner: owner, Allowed: owner.Sharing, Asked: join, Member: r.Has(me)}
	if same(me)(owner) {
		d.Use = Join // the oldest consumer of an ownerless registry: Attach promotes it
	} else if d.Allowed && d.Asked {
		d.Use = Join
	}
	return d
}

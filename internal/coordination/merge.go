package coordination

import (
	"slices"
	"time"
)

// Expiry is how long an entry lives without being refreshed; an operator
// that is gone stops refreshing and its entries fall away.
const Expiry = 3 * Refresh

// Attach is the registry with me as a consumer: added, or refreshed when
// stale. Expired entries are dropped; an expired owner is replaced by the
// oldest live consumer (me, if nobody else is left).
func Attach(r Registry, me Entry, now time.Time) Registry {
	now = now.UTC().Truncate(time.Second)
	r = expire(r, now)
	if r.Owns(me) {
		return ForOwner(&r, me, now)
	}
	i := slices.IndexFunc(r.Consumers, same(me))
	switch {
	case i < 0:
		me.LastSeen = now
		r.Consumers = append(slices.Clone(r.Consumers), me)
	case now.Sub(r.Consumers[i].LastSeen) >= Refresh:
		r.Consumers = slices.Clone(r.Consumers)
		r.Consumers[i].LastSeen = now
	}
	return promote(r)
}

// Detach is the registry without me. When I owned it, the oldest consumer
// becomes the owner. empty is true when nobody is left: the service may be
// deleted.
func Detach(r Registry, me Entry, now time.Time) (next Registry, empty bool) {
	r = expire(r, now.UTC())
	r.Consumers = slices.DeleteFunc(slices.Clone(r.Consumers), same(me))
	if r.Owns(me) {
		r.Owner = Entry{}
	}
	r = promote(r)
	return r, r.Owner.OperatorID == ""
}

// Has reports whether me is in the registry, as owner or consumer.
func (r Registry) Has(me Entry) bool {
	return r.Owns(me) || slices.ContainsFunc(r.Consumers, same(me))
}

// expire drops entries not refreshed within Expiry.
func expire(r Registry, now time.Time) Registry {
	stale := func(e Entry) bool { return now.Sub(e.LastSeen) > Expiry }
	r.Consumers = slices.DeleteFunc(slices.Clone(r.Consumers), stale)
	if r.Owner.OperatorID != "" && stale(r.Owner) {
		r.Owner = Entry{}
	}
	return r
}

// promote makes the oldest consumer the owner of an ownerless registry.
func promote(r Registry) Registry {
	if r.Owner.OperatorID != "" || len(r.Consumers) == 0 {
		return r
	}
	oldest := 0
	for i, c := range r.Consumers {
		if c.LastSeen.Before(r.Consumers[oldest].LastSeen) {
			oldest = i
		}
	}
	r.Owner = r.Consumers[oldest]
	r.Consumers = slices.Delete(slices.Clone(r.Consumers), oldest, oldest+1)
	if len(r.Consumers) == 0 {
		r.Consumers = nil
	}
	return r
}

func same(me Entry) func(Entry) bool {
	return func(e Entry) bool { return e.OperatorID == me.OperatorID && e.Object == me.Object }
}

package coordination

import (
	"slices"
	"time"
)

// Expiry is how long an entry stays live without being refreshed. A stale
// owner hands the service over to a live consumer, and a stale entry no
// longer keeps the service from being deleted unless a device it names
// still serves it (Depart). Stale entries are not dropped: an operator
// that stopped refreshing may only be down, its machines still hosting
// the service; its entry goes when it leaves, or with the service.
const Expiry = 3 * Refresh

// Attach is the registry with me as a consumer: added, or refreshed when
// stale. A stale owner is replaced by the oldest live consumer (me, if
// nobody else is live) and stays as a consumer.
func Attach(r Registry, me Entry, now time.Time) Registry {
	now = now.UTC().Truncate(time.Second)
	if r.Owns(me) {
		return ForOwner(&r, me, now)
	}
	i := slices.IndexFunc(r.Consumers, same(me))
	if i < 0 {
		me.LastSeen = now
		r.Consumers = append(slices.Clone(r.Consumers), me)
	} else {
		r.Consumers = slices.Clone(r.Consumers)
		r.Consumers[i] = refresh(r.Consumers[i], me, now)
	}
	return handOver(r, now)
}

// Has reports whether me is in the registry, as owner or consumer.
func (r Registry) Has(me Entry) bool {
	return r.Owns(me) || slices.ContainsFunc(r.Consumers, same(me))
}

// handOver gives a stale (or missing) owner's place to the oldest live
// consumer; the stale owner stays, as a consumer.
func handOver(r Registry, now time.Time) Registry {
	if r.Owner.OperatorID != "" && live(r.Owner, now) {
		return r
	}
	if r.Owner.OperatorID != "" && !slices.ContainsFunc(r.Consumers, func(e Entry) bool { return live(e, now) }) {
		return r // nobody live to take over
	}
	if r.Owner.OperatorID != "" {
		r.Consumers = append(slices.Clone(r.Consumers), r.Owner)
		r.Owner = Entry{}
	}
	return promoteLive(r, now)
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

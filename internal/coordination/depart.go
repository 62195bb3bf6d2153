package coordination

import (
	"slices"
	"time"
)

// Departure is what an entry leaving a registry leaves behind, and what
// must be true before the service may be deleted.
type Departure struct {
	// Next is the registry without the departing entry. Nothing else is
	// dropped, stale entries included: their devices are what tells a
	// later departure whether they still serve the service. When the
	// departing entry owned it, the oldest live entry takes over (the
	// oldest stale one when none is live).
	Next Registry
	// InUse is true when another entry is live (refreshed within Expiry):
	// the service stays.
	InUse bool
	// Devices are the hosts named by the other entries, all stale when
	// InUse is false. The service may be deleted only when none of them
	// still serves it (see Serving).
	Devices []string
}

// Depart is me leaving the registry. An entry that stopped being
// refreshed is no proof that its operator stopped serving: it may only
// have been down, with its machines still hosting the service. So a
// departure deletes the service only when no other entry is live and
// none of the devices they name still serves (the caller asks the API).
func Depart(r Registry, me Entry, now time.Time) Departure {
	now = now.UTC()
	owned := r.Owns(me)
	r.Consumers = slices.DeleteFunc(slices.Clone(r.Consumers), same(me))
	if owned {
		r.Owner = Entry{}
		r = promoteLive(r, now)
	}
	if len(r.Consumers) == 0 {
		r.Consumers = nil
	}
	d := Departure{Next: r}
	for _, e := range r.entries() {
		if live(e, now) {
			d.InUse = true
		}
		for _, dev := range e.Devices {
			if !slices.Contains(d.Devices, dev) {
				d.Devices = append(d.Devices, dev)
			}
		}
	}
	slices.Sort(d.Devices)
	return d
}

// Serving reports whether a device, as the API shows it, may still be
// serving: connected to control, or seen within Expiry (a device that
// lost its connection a moment ago may be back in a moment).
func Serving(connected bool, lastSeen, now time.Time) bool {
	return connected || (!lastSeen.IsZero() && now.Sub(lastSeen) <= Expiry)
}

// entries are the owner (if any) and the consumers.
func (r Registry) entries() []Entry {
	var out []Entry
	if r.Owner.OperatorID != "" {
		out = append(out, r.Owner)
	}
	return append(out, r.Consumers...)
}

func live(e Entry, now time.Time) bool { return now.Sub(e.LastSeen) <= Expiry }

// promoteLive is promote preferring live consumers: a stale one takes over
// only when nobody live is left.
func promoteLive(r Registry, now time.Time) Registry {
	var liveOnes, stale []Entry
	for _, c := range r.Consumers {
		if live(c, now) {
			liveOnes = append(liveOnes, c)
		} else {
			stale = append(stale, c)
		}
	}
	if len(liveOnes) == 0 {
		return promote(r)
	}
	p := promote(Registry{Consumers: liveOnes})
	p.Consumers = append(p.Consumers, stale...)
	return p
}

// Package selection decides which TailscaleEndpoints a TailscaleServices
// selects, and indexes selectors so that one TailscaleEndpoints change finds
// the TailscaleServices it affects without scanning all of them.
//
// Every selector is indexed under anchors: the values one of its equality
// requirements (a matchLabels pair, or an In expression) accepts, as
// "key=value"; a selector without such a requirement is indexed under
// Wildcard. A pool can only be selected by a selector one of whose anchors
// is among the pool's LookupKeys, so looking those up in the index (a
// controller-runtime cache field index) yields every candidate; Matches
// then decides.
package selection

import (
	"maps"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
)

// IndexField is the cache field index of TailscaleServices by anchor.
const IndexField = "spec.selector.anchors"

// Wildcard anchors selectors that have no equality requirement.
const Wildcard = "*"

// Selector converts the API's selector, reporting a malformed one.
func Selector(sel *metav1.LabelSelector) (labels.Selector, error) {
	return metav1.LabelSelectorAsSelector(sel)
}

// Matches reports whether the selector selects a pool with these labels.
// A malformed selector selects nothing.
func Matches(sel *metav1.LabelSelector, set map[string]string) bool {
	s, err := Selector(sel)
	return err == nil && s.Matches(labels.Set(set))
}

// Anchors are the index keys of a selector: the accepted values of its most
// selective equality requirement (fewest values; first key on ties).
func Anchors(sel *metav1.LabelSelector) []string {
	s, err := Selector(sel)
	if err != nil {
		return nil // selects nothing: not indexed
	}
	reqs, _ := s.Requirements()
	var best []string
	for _, r := range reqs {
		if r.Operator() != selection.Equals && r.Operator() != selection.DoubleEquals && r.Operator() != selection.In {
			continue
		}
		vals := r.Values().UnsortedList()
		slices.Sort(vals)
		if best == nil || len(vals) < len(best) {
			best = make([]string, len(vals))
			for i, v := range vals {
				best[i] = r.Key() + "=" + v
			}
		}
	}
	if best == nil {
		return []string{Wildcard}
	}
	return best
}

// LookupKeys are the anchors under which every selector that may select a
// pool with these labels is indexed.
func LookupKeys(set map[string]string) []string {
	keys := []string{Wildcard}
	for _, k := range slices.Sorted(maps.Keys(set)) {
		keys = append(keys, k+"="+set[k])
	}
	return keys
}

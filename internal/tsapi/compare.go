package tsapi

import (
	"maps"
	"slices"
)

// NeedsUpdate reports whether writing desired would change actual. Addrs
// are ignored: the server assigns them and PutVIPService keeps them. Ports
// and tags compare as sets; an empty and a missing map are the same.
func NeedsUpdate(actual, desired VIPService) bool {
	return !(actual.Name == desired.Name &&
		actual.Comment == desired.Comment &&
		sameSet(actual.Ports, desired.Ports) &&
		sameSet(actual.Tags, desired.Tags) &&
		maps.Equal(actual.Annotations, desired.Annotations))
}

func sameSet(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(slices.Compact(x), slices.Compact(y))
}

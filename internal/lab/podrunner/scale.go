package podrunner

import (
	"slices"
)

// scale says which ordinals to start and which to stop so that exactly
// ordinals 0..replicas-1 run. Starts come lowest first; stops highest
// first, as a StatefulSet scales down.
func scale(running []int, replicas int) (start, stop []int) {
	for i := range replicas {
		if !slices.Contains(running, i) {
			start = append(start, i)
		}
	}
	for _, i := range running {
		if i >= replicas {
			stop = append(stop, i)
		}
	}
	slices.Sort(stop)
	slices.Reverse(stop)
	return start, stop
}

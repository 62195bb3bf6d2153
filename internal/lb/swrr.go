package lb

// maxSequence bounds the precomputed weighted schedule. Larger weight sums are
// scaled down proportionally; the error this introduces is below 1/maxSequence
// of the traffic.
const maxSequence = 1 << 14

// smoothSequence returns one full period of nginx's smooth weighted
// round-robin over the given weights, as indexes into weights. Entries with
// weight 0 never appear. Precomputing the period makes a pick a single atomic
// increment and an index, instead of an O(groups) update under a lock.
func smoothSequence(weights []int) []int32 {
	w := reduceWeights(weights)
	total := 0
	for _, x := range w {
		total += x
	}
	seq := make([]int32, 0, total)
	current := make([]int, len(w))
	for range total {
		best := -1
		for i, x := range w {
			if x == 0 {
				continue
			}
			current[i] += x
			if best < 0 || current[i] > current[best] {
				best = i
			}
		}
		current[best] -= total
		seq = append(seq, int32(best))
	}
	return seq
}

// reduceWeights divides weights by their greatest common divisor and scales
// them so that their sum stays below maxSequence.
func reduceWeights(weights []int) []int {
	g, total := 0, 0
	for _, x := range weights {
		g = gcd(g, x)
		total += x
	}
	out := make([]int, len(weights))
	if total == 0 {
		return out
	}
	scale := 1.0
	if total/g > maxSequence {
		scale = float64(maxSequence) / float64(total/g)
	}
	for i, x := range weights {
		if x == 0 {
			continue
		}
		out[i] = max(1, int(float64(x/g)*scale))
	}
	return out
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

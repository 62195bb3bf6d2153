package proxyconfig

import "strings"

// joined spells values for error messages: "a, b, c" with last ", ", or
// "a, b or c" with last " or ". Messages built from Strategies and Tiers
// stay right when a value is added.
func joined[T ~string](values []T, last string) string {
	var b strings.Builder
	for i, v := range values {
		switch {
		case i == 0:
		case i == len(values)-1:
			b.WriteString(last)
		default:
			b.WriteString(", ")
		}
		b.WriteString(string(v))
	}
	return b.String()
}

package translate

import (
	"fmt"
	"strings"
)

// CheckClusterDomain checks that domain can end a Service's DNS name, as in
// <service>.<namespace>.svc.<domain>: lower-case DNS labels joined by dots.
func CheckClusterDomain(domain string) error {
	if domain == "" || len(domain) > 253 {
		return fmt.Errorf("cluster domain %q must be 1 to 253 characters, for example cluster.local", domain)
	}
	for label := range strings.SplitSeq(domain, ".") {
		if !isDNSLabel(label) {
			return fmt.Errorf("cluster domain %q must be lower-case DNS labels joined by dots, without a trailing dot, for example cluster.local", domain)
		}
	}
	return nil
}

func isDNSLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
			return false
		}
	}
	return true
}

package pool

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
)

// maxHostname is the longest DNS label, which a MagicDNS name's first
// label must be.
const maxHostname = 63

// hostnameHashLen is how many hex digits of the hash tell apart pools whose
// readable parts are equal (or were cut to fit).
const hostnameHashLen = 6

// MachineHostname is the tailnet hostname of a pool's machine:
// "<pool>-<ordinal>-<namespace>-<hash>", where the hash covers the
// operator ID, the namespace and the pool. Two clusters, or two
// namespaces of one cluster, with pools of the same name therefore never
// share a machine name in the tailnet, and the name is the same after
// every restart. Long pool and namespace names are cut to keep the name
// within one DNS label; the hash keeps cut names apart.
func MachineHostname(operatorID, namespace, pool string, ordinal int) string {
	sum := sha256.Sum256([]byte(operatorID + "\x00" + namespace + "\x00" + pool))
	hash := hex.EncodeToString(sum[:])[:hostnameHashLen]
	ord := strconv.Itoa(ordinal)
	p, ns := label(pool), label(namespace)
	// Three dashes join the four parts.
	budget := maxHostname - len(ord) - len(hash) - 3
	for len(p)+len(ns) > budget {
		if len(ns) >= len(p) {
			ns = strings.TrimRight(ns[:len(ns)-1], "-")
		} else {
			p = strings.TrimRight(p[:len(p)-1], "-")
		}
	}
	return p + "-" + ord + "-" + ns + "-" + hash
}

// label keeps the characters a DNS label allows, lower-cased; a pool name
// may hold dots, which a hostname label may not.
func label(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case 'a' <= r && r <= 'z', '0' <= r && r <= '9', r == '-':
			return r
		case 'A' <= r && r <= 'Z':
			return r - 'A' + 'a'
		}
		return '-'
	}, s)
}

// Package cabundle keeps, of a CA bundle as a user gave it (the value of a
// Secret's key, meant to be PEM), only what a TLS client can trust: X.509
// certificates. The operator sends the proxies nothing else: a proxy
// cannot use a CA without a PEM certificate (probeTLS in
// internal/proxy/service.go), and a proxy's configuration holds every
// service of its pool, so nothing of one user's Secret may reach it
// unparsed.
package cabundle

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
)

// blockType is the PEM type of a certificate, the one crypto/x509 reads
// (x509.CertPool.AppendCertsFromPEM).
const blockType = "CERTIFICATE"

// Bundle is what Parse kept of a CA bundle.
type Bundle struct {
	// PEM is the certificates, each a CERTIFICATE block without headers,
	// in the order they came; empty when there is none.
	PEM []byte
	// Certificates is how many certificates PEM holds.
	Certificates int
	// Dropped is how many PEM blocks were left out: other types (a
	// private key, say) and CERTIFICATE blocks that are not X.509.
	Dropped int
}

// Parse decodes the PEM blocks of data and keeps the CERTIFICATE blocks
// that parse as X.509 certificates, encoded again. Everything else is
// dropped: text around the blocks, blocks of other types, certificates
// that do not parse, and data that is not PEM at all (DER, binary).
func Parse(data []byte) Bundle {
	var b Bundle
	var out bytes.Buffer
	for {
		block, rest := pem.Decode(data)
		if block == nil {
			break
		}
		data = rest
		if block.Type != blockType {
			b.Dropped++
			continue
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			b.Dropped++
			continue
		}
		// Headers are dropped: what is written is only what was parsed.
		_ = pem.Encode(&out, &pem.Block{Type: blockType, Bytes: block.Bytes})
		b.Certificates++
	}
	if b.Certificates > 0 {
		b.PEM = out.Bytes()
	}
	return b
}

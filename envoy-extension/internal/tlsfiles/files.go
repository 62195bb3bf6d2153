// Package tlsfiles serves TLS from PEM files that may be replaced while the
// server runs, as the kubelet does when it updates a mounted Secret: it
// writes a new directory and swaps the ..data symlink the file names go
// through. Each handshake uses what the files held when last read; they are
// read again at most once every RecheckEvery, on a handshake.
package tlsfiles

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// File is a PEM file and the flag that named it, so that every error says
// which flag to fix.
type File struct {
	Flag string // e.g. --tls-cert-file
	Path string
}

func (f File) String() string { return f.Flag + "=" + f.Path }

func (f File) read() ([]byte, error) {
	data, err := os.ReadFile(f.Path)
	if pathErr := (*fs.PathError)(nil); errors.As(err, &pathErr) {
		return nil, fmt.Errorf("%s: cannot read the file: %w", f, pathErr.Err)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f, err)
	}
	return data, nil
}

// contents is what the files held at one read: the certificate chain, its
// key, and the client CA bundle (nil when there is no client CA file).
type contents struct{ cert, key, clientCA []byte }

func (c contents) equal(o contents) bool {
	return string(c.cert) == string(o.cert) && string(c.key) == string(o.key) && string(c.clientCA) == string(o.clientCA)
}

// keyPair parses a certificate chain and its private key. The checks before
// tls.X509KeyPair only make the error name the file at fault.
func keyPair(certPEM, keyPEM []byte, cert, key File) (tls.Certificate, error) {
	if _, err := certificates(certPEM); err != nil {
		return tls.Certificate{}, fmt.Errorf("%s: %w", cert, err)
	}
	if !hasPrivateKey(keyPEM) {
		return tls.Certificate{}, fmt.Errorf("%s: no PEM block of a private key (-----BEGIN … PRIVATE KEY-----)", key)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%s with %s: %w", cert, key, err)
	}
	return pair, nil
}

// certPool parses a CA bundle: every CERTIFICATE block must parse, and there
// must be at least one. (x509.CertPool.AppendCertsFromPEM skips blocks it
// cannot parse, which would hide a damaged file.)
func certPool(pemBytes []byte, file File) (*x509.CertPool, error) {
	certs, err := certificates(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, nil
}

// certificates parses the CERTIFICATE blocks of pemBytes; other blocks are
// ignored.
func certificates(pemBytes []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for rest := pemBytes; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", len(certs)+1, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("no PEM CERTIFICATE block")
	}
	return certs, nil
}

func hasPrivateKey(pemBytes []byte) bool {
	for rest := pemBytes; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return false
		}
		if strings.HasSuffix(block.Type, "PRIVATE KEY") {
			return true
		}
	}
}

package cabundle

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"
)

// certificate is a new self-signed CA certificate, DER.
func certificate(t *testing.T, name string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(0, 0).Add(100 * 365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func block(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func TestParse(t *testing.T) {
	a, b := certificate(t, "ca-a"), certificate(t, "ca-b")
	pemA, pemB := block("CERTIFICATE", a), block("CERTIFICATE", b)
	both := append(append([]byte{}, pemA...), pemB...)
	withHeaders := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Headers: map[string]string{"Note": "x"}, Bytes: a})
	privateKey := block("PRIVATE KEY", []byte("not really a key, but a block of that type"))
	junk := bytes.Repeat([]byte("this is not PEM \x00\xff\n"), (1<<20)/19+1)[:1<<20]
	beginsOnly := bytes.Repeat([]byte("-----BEGIN CERTIFICATE-----\n"), (1<<20)/28)

	for _, tc := range []struct {
		name    string
		in      []byte
		want    []byte
		certs   int
		dropped int
	}{
		{name: "a valid bundle", in: both, want: both, certs: 2},
		{name: "text around and between the certificates",
			in:   []byte("# our CA\n" + string(pemA) + "\nsubject=ca-b, issuer=ca-b\n" + string(pemB) + "trailing words"),
			want: both, certs: 2},
		{name: "Windows line endings", in: bytes.ReplaceAll(both, []byte("\n"), []byte("\r\n")), want: both, certs: 2},
		{name: "a private key mixed in", in: append(append(append([]byte{}, pemA...), privateKey...), pemB...),
			want: both, certs: 2, dropped: 1},
		{name: "only a private key", in: privateKey, dropped: 1},
		{name: "a CERTIFICATE block that is not X.509", in: append(block("CERTIFICATE", []byte("garbage")), pemB...),
			want: pemB, certs: 1, dropped: 1},
		{name: "a certificate with trailing bytes in its block", in: block("CERTIFICATE", append(append([]byte{}, a...), 0)), dropped: 1},
		{name: "headers are not carried over", in: withHeaders, want: pemA, certs: 1},
		{name: "DER without PEM armour", in: a},
		{name: "binary garbage", in: []byte{0x30, 0x82, 0xff, 0xff, 0x00, 0x01, 0x02, 0xfe}},
		{name: "a BEGIN line without its END", in: []byte("-----BEGIN CERTIFICATE-----\nMIIB\n")},
		{name: "empty", in: nil},
		{name: "1 MiB of junk", in: junk},
		{name: "1 MiB of BEGIN lines", in: beginsOnly},
		{name: "a certificate after 1 MiB of junk", in: append(append(append([]byte{}, junk...), '\n'), pemA...), want: pemA, certs: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Parse(tc.in)
			if !bytes.Equal(got.PEM, tc.want) {
				t.Errorf("PEM:\n%s\nwant:\n%s", got.PEM, tc.want)
			}
			if got.Certificates != tc.certs || got.Dropped != tc.dropped {
				t.Errorf("%d certificates, %d dropped; want %d and %d", got.Certificates, got.Dropped, tc.certs, tc.dropped)
			}
			// Whatever came in, what comes out is certificates only.
			rest := got.PEM
			for {
				var blk *pem.Block
				blk, rest = pem.Decode(rest)
				if blk == nil {
					break
				}
				if _, err := x509.ParseCertificate(blk.Bytes); blk.Type != "CERTIFICATE" || len(blk.Headers) > 0 || err != nil {
					t.Errorf("a %s block with headers %v in the output (%v)", blk.Type, blk.Headers, err)
				}
			}
			if strings.TrimSpace(string(rest)) != "" {
				t.Errorf("bytes outside certificate blocks in the output: %q", rest)
			}
			if len(got.PEM) > 0 && !x509.NewCertPool().AppendCertsFromPEM(got.PEM) {
				t.Error("the output is not a bundle crypto/x509 accepts")
			}
		})
	}
}

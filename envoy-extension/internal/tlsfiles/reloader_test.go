package tlsfiles

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/tailscale-gateway/tailscale-gateway/envoy-extension/internal/testcerts"
)

// fakeClock is a clock that moves only when told.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// handshake runs one TLS handshake of client against server over loopback
// and returns the server's leaf certificate. The client writes a byte and
// the server reads it because a TLS 1.3 server learns that the client
// refused its certificate, and the client that the server refused its
// certificate, only after the handshake.
func handshake(t *testing.T, server, client *tls.Config) (*x509.Certificate, error) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	serverDone := make(chan error, 1)
	go func() {
		conn, err := lis.Accept()
		if err != nil {
			serverDone <- err
			return
		}
		defer conn.Close()
		_, err = tls.Server(conn, server).Read(make([]byte, 1))
		serverDone <- err
	}()
	conn, err := tls.Dial("tcp", lis.Addr().String(), client)
	if err != nil {
		<-serverDone
		return nil, err
	}
	defer conn.Close()
	if _, err := conn.Write([]byte{0}); err != nil {
		<-serverDone
		return nil, err
	}
	if err := <-serverDone; err != nil {
		return nil, err
	}
	// Reading the server's close shows a refusal the server sent.
	if _, err := conn.Read(make([]byte, 1)); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return conn.ConnectionState().PeerCertificates[0], nil
}

func TestReloadsChangedFilesAfterRecheckEvery(t *testing.T) {
	ca := testcerts.NewCA(t, "extension CA")
	firstCert, firstKey := ca.Server(t, serviceHost)
	secret := testcerts.NewSecretDir(t, map[string][]byte{"tls.crt": firstCert, "tls.key": firstKey})
	clock := &fakeClock{now: time.Now()}
	r, err := Load(Config{
		Cert: File{"--tls-cert-file", secret.File("tls.crt")},
		Key:  File{"--tls-key-file", secret.File("tls.key")},
		Now:  clock.Now,
	}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	client := &tls.Config{RootCAs: ca.Pool(), ServerName: serviceHost}
	serial := func() string {
		t.Helper()
		leaf, err := handshake(t, r.ServerConfig(), client)
		if err != nil {
			t.Fatalf("handshake: %v", err)
		}
		return leaf.SerialNumber.String()
	}
	first := serial()

	secondCert, secondKey := ca.Server(t, serviceHost)
	secret.Update(t, map[string][]byte{"tls.crt": secondCert, "tls.key": secondKey})
	clock.Advance(RecheckEvery - time.Millisecond)
	if got := serial(); got != first {
		t.Errorf("the files were read again before RecheckEvery: serial %s, want still %s", got, first)
	}
	clock.Advance(time.Millisecond)
	second := serial()
	if second == first {
		t.Fatalf("still serving serial %s after the files changed and RecheckEvery passed", first)
	}

	// A certificate with the key of another: kept out, the previous one
	// stays, and the fixed files are taken at the next read.
	thirdCert, thirdKey := ca.Server(t, serviceHost)
	secret.Update(t, map[string][]byte{"tls.crt": thirdCert, "tls.key": secondKey})
	clock.Advance(RecheckEvery)
	if got := serial(); got != second {
		t.Errorf("after an unusable update: serial %s, want the previous %s", got, second)
	}
	secret.Update(t, map[string][]byte{"tls.crt": thirdCert, "tls.key": thirdKey})
	clock.Advance(RecheckEvery)
	if got := serial(); got == second || got == first {
		t.Errorf("after the fix: serial %s, want the third certificate's", got)
	}
}

func TestClientCertificates(t *testing.T) {
	ca := testcerts.NewCA(t, "extension CA")
	otherCA := testcerts.NewCA(t, "another CA")
	certPEM, keyPEM := ca.Server(t, serviceHost)
	secret := testcerts.NewSecretDir(t, map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM, "ca.crt": ca.PEM})
	r, err := Load(Config{
		Cert:     File{"--tls-cert-file", secret.File("tls.crt")},
		Key:      File{"--tls-key-file", secret.File("tls.key")},
		ClientCA: File{"--tls-client-ca-file", secret.File("ca.crt")},
	}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if !r.MutualTLS() {
		t.Error("MutualTLS() = false with a client CA file")
	}
	pair := func(certPEM, keyPEM []byte) []tls.Certificate {
		c, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		return []tls.Certificate{c}
	}
	for _, tt := range []struct {
		name  string
		certs []tls.Certificate
		ok    bool
	}{
		{"signed by the client CA", []tls.Certificate{*ca.ClientKeyPair(t, "envoy-gateway")}, true},
		{"none", nil, false},
		{"signed by another CA", []tls.Certificate{*otherCA.ClientKeyPair(t, "envoy-gateway")}, false},
		{"a server certificate", pair(ca.Server(t, "envoy-gateway")), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := handshake(t, r.ServerConfig(), &tls.Config{RootCAs: ca.Pool(), ServerName: serviceHost, Certificates: tt.certs})
			if tt.ok && err != nil {
				t.Errorf("refused: %v", err)
			}
			if !tt.ok && err == nil {
				t.Error("accepted")
			}
		})
	}
}

func TestTLSVersions(t *testing.T) {
	ca := testcerts.NewCA(t, "extension CA")
	certPEM, keyPEM := ca.Server(t, serviceHost)
	secret := testcerts.NewSecretDir(t, map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM})
	r, err := Load(Config{Cert: File{"--tls-cert-file", secret.File("tls.crt")}, Key: File{"--tls-key-file", secret.File("tls.key")}}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := handshake(t, r.ServerConfig(), &tls.Config{RootCAs: ca.Pool(), ServerName: serviceHost, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}); err == nil {
		t.Error("a TLS 1.1 client was accepted")
	}
	if _, err := handshake(t, r.ServerConfig(), &tls.Config{RootCAs: ca.Pool(), ServerName: serviceHost, MaxVersion: tls.VersionTLS12}); err != nil {
		t.Errorf("a TLS 1.2 client was refused: %v", err)
	}
}

package tlsfiles

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tailscale-gateway/tailscale-gateway/envoy-extension/internal/testcerts"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

const serviceHost = "tsgw-envoy-extension.tailscale-gateway.svc.cluster.local"

// TestLoadNamesTheFlagAndTheFile: a file that cannot be used stops Load with
// an error naming the flag and the path to fix.
func TestLoadNamesTheFlagAndTheFile(t *testing.T) {
	ca := testcerts.NewCA(t, "extension CA")
	certPEM, keyPEM := ca.Server(t, serviceHost)
	_, otherKey := ca.Server(t, serviceHost)
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	good := Config{
		Cert:     File{"--tls-cert-file", write("tls.crt", certPEM)},
		Key:      File{"--tls-key-file", write("tls.key", keyPEM)},
		ClientCA: File{"--tls-client-ca-file", write("ca.crt", ca.PEM)},
	}
	if _, err := Load(good, quiet); err != nil {
		t.Fatalf("Load of good files: %v", err)
	}
	for _, tt := range []struct {
		name  string
		edit  func(*Config)
		wants []string
	}{
		{"missing cert", func(c *Config) { c.Cert.Path = filepath.Join(dir, "absent.crt") },
			[]string{"--tls-cert-file=" + filepath.Join(dir, "absent.crt"), "no such file"}},
		{"cert not PEM", func(c *Config) { c.Cert.Path = write("junk.crt", []byte("not a certificate")) },
			[]string{"--tls-cert-file=" + filepath.Join(dir, "junk.crt"), "no PEM CERTIFICATE block"}},
		{"key file holds a certificate", func(c *Config) { c.Key.Path = write("cert-as-key", certPEM) },
			[]string{"--tls-key-file=" + filepath.Join(dir, "cert-as-key"), "private key"}},
		{"key of another certificate", func(c *Config) { c.Key.Path = write("other.key", otherKey) },
			[]string{"--tls-cert-file=", "--tls-key-file=" + filepath.Join(dir, "other.key"), "does not match"}},
		{"missing client CA", func(c *Config) { c.ClientCA.Path = filepath.Join(dir, "absent-ca.crt") },
			[]string{"--tls-client-ca-file=" + filepath.Join(dir, "absent-ca.crt"), "no such file"}},
		{"client CA not PEM", func(c *Config) { c.ClientCA.Path = write("junk-ca.crt", keyPEM) },
			[]string{"--tls-client-ca-file=" + filepath.Join(dir, "junk-ca.crt"), "no PEM CERTIFICATE block"}},
		{"client CA damaged", func(c *Config) {
			c.ClientCA.Path = write("bad-ca.crt", []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
		}, []string{"--tls-client-ca-file=" + filepath.Join(dir, "bad-ca.crt"), "certificate 1"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.edit(&cfg)
			_, err := Load(cfg, quiet)
			if err == nil {
				t.Fatal("Load accepted it")
			}
			for _, want := range tt.wants {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
		})
	}
}

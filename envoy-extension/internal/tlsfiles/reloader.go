package tlsfiles

import (
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"sync"
	"time"
)

// RecheckEvery bounds how often the files are read: on a handshake, if the
// last read is at least this old. The kubelet takes up to a minute or so to
// update a mounted Secret, so a few more seconds do not matter, and a burst
// of handshakes reads the files once.
const RecheckEvery = 5 * time.Second

// Config names the files to serve.
type Config struct {
	Cert File // PEM certificate chain, leaf first
	Key  File // PEM private key of the leaf
	// ClientCA, when its Path is set, is a PEM CA bundle: clients must
	// present a certificate it verifies (mutual TLS). Empty: no client
	// certificate is asked for.
	ClientCA File
	// Now is the clock deciding when to read the files again; nil is
	// time.Now. Tests set it to reload without waiting.
	Now func() time.Time
}

// Reloader serves the certificate of its files and re-reads them as
// RecheckEvery says. It is safe for concurrent use.
type Reloader struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	checked time.Time // last read of the files
	current served
}

// served is the configuration handshakes get, with the file contents it was
// made from, so that unchanged files are not parsed again.
type served struct {
	from   contents
	config *tls.Config
	leaf   *x509.Certificate
}

// Load reads and checks the files, so that a bad file stops the server at
// start with an error naming its flag and path.
func Load(cfg Config, log *slog.Logger) (*Reloader, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	r := &Reloader{cfg: cfg, log: log}
	from, err := r.read()
	if err != nil {
		return nil, err
	}
	if r.current, err = r.parse(from); err != nil {
		return nil, err
	}
	r.checked = cfg.Now()
	r.logServed("serving TLS")
	return r, nil
}

// MutualTLS reports whether clients must present a certificate.
func (r *Reloader) MutualTLS() bool { return r.cfg.ClientCA.Path != "" }

// ServerConfig is the server's TLS configuration: every handshake takes the
// current files' configuration from GetConfigForClient. (grpc's
// credentials.NewTLS adds the ALPN protocol "h2" and HTTP/2's cipher suites to
// each configuration GetConfigForClient returns.)
func (r *Reloader) ServerConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetConfigForClient: r.configForClient}
}

func (r *Reloader) configForClient(*tls.ClientHelloInfo) (*tls.Config, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := r.cfg.Now(); now.Sub(r.checked) >= RecheckEvery || now.Before(r.checked) {
		r.checked = now
		r.refresh()
	}
	return r.current.config, nil
}

// refresh reads the files and, if they changed, serves them. Files that
// cannot be used (a writer that replaces them one by one may leave a
// certificate without its key for a moment) are logged, and the previous
// configuration stays until the next read.
func (r *Reloader) refresh() {
	from, err := r.read()
	if err == nil && from.equal(r.current.from) {
		return
	}
	var next served
	if err == nil {
		next, err = r.parse(from)
	}
	if err != nil {
		r.log.Warn("the TLS files changed but cannot be used; still serving the previous certificate", "error", err, "retryAfter", RecheckEvery.String())
		return
	}
	r.current = next
	r.logServed("reloaded the TLS files")
}

func (r *Reloader) read() (contents, error) {
	var c contents
	var err error
	if c.cert, err = r.cfg.Cert.read(); err != nil {
		return contents{}, err
	}
	if c.key, err = r.cfg.Key.read(); err != nil {
		return contents{}, err
	}
	if r.MutualTLS() {
		if c.clientCA, err = r.cfg.ClientCA.read(); err != nil {
			return contents{}, err
		}
	}
	return c, nil
}

func (r *Reloader) parse(from contents) (served, error) {
	pair, err := keyPair(from.cert, from.key, r.cfg.Cert, r.cfg.Key)
	if err != nil {
		return served{}, err
	}
	config := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{pair},
	}
	if r.MutualTLS() {
		pool, err := certPool(from.clientCA, r.cfg.ClientCA)
		if err != nil {
			return served{}, err
		}
		config.ClientAuth = tls.RequireAndVerifyClientCert
		config.ClientCAs = pool
	}
	return served{from: from, config: config, leaf: pair.Leaf}, nil
}

// logServed logs what the certificate is good for: Envoy Gateway checks
// that one of its DNS names (or IP addresses) is the host of the extension
// service it dials (README.md, "TLS").
func (r *Reloader) logServed(msg string) {
	leaf := r.current.leaf
	attrs := []any{"cert", r.cfg.Cert.Path, "dnsNames", leaf.DNSNames, "ipAddresses", leaf.IPAddresses,
		"notAfter", leaf.NotAfter.UTC().Format(time.RFC3339), "clientCertificates", r.MutualTLS()}
	if now := time.Now(); now.After(leaf.NotAfter) || now.Before(leaf.NotBefore) {
		r.log.Warn(msg+": the certificate is not valid now, clients will refuse it", append(attrs, "notBefore", leaf.NotBefore.UTC().Format(time.RFC3339))...)
		return
	}
	r.log.Info(msg, attrs...)
}

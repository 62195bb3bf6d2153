package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envoyproxy/gateway/proto/extension"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/security/advancedtls"
	"google.golang.org/grpc/status"

	"github.com/tailscale-gateway/tailscale-gateway/envoy-extension/internal/egsample"
	"github.com/tailscale-gateway/tailscale-gateway/envoy-extension/internal/testcerts"
	"github.com/tailscale-gateway/tailscale-gateway/envoy-extension/internal/tlsfiles"
)

// serviceHost is the extensionManager.service.fqdn.hostname of README.md:
// Envoy Gateway checks the server certificate against it.
const serviceHost = "tsgw-envoy-extension.tailscale-gateway.svc.cluster.local"

// fakeClock is a clock that moves only when told: the server reads its TLS
// files again as soon as the test moves it by tlsfiles.RecheckEvery.
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

// serveTLS runs the server on loopback with the TLS files of flags and the
// clock, and returns its address; it stops when the test ends.
func serveTLS(t *testing.T, flags tlsFlags, clock *fakeClock, log *slog.Logger) string {
	t.Helper()
	creds, transport, err := transportCredentials(flags, clock.Now, log)
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, lis, nil, serveOptions{clusterDomain: "cluster.local", creds: creds, transport: transport}, log)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	return lis.Addr().String()
}

// envoyGatewayCreds are client credentials made as Envoy Gateway v1.9.1
// makes them for extensionManager.service.tls (README.md, "TLS"): grpc's
// advancedtls, trusting the CA it reads on every handshake, verifying the
// certificate and the host name, and presenting clientCert, if any, as it
// does when clientCertificateRef is set.
func envoyGatewayCreds(t *testing.T, caPEM []byte, clientCert *tls.Certificate) credentials.TransportCredentials {
	t.Helper()
	roots := certPool(t, caPEM)
	opts := &advancedtls.Options{RootOptions: advancedtls.RootCertificateOptions{
		GetRootCertificates: func(*advancedtls.ConnectionInfo) (*advancedtls.RootCertificates, error) {
			return &advancedtls.RootCertificates{TrustCerts: roots}, nil
		},
	}}
	if clientCert != nil {
		opts.IdentityOptions.GetIdentityCertificatesForClient = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return clientCert, nil
		}
	}
	creds, err := advancedtls.NewClientCreds(opts)
	if err != nil {
		t.Fatal(err)
	}
	return creds
}

// dialAsEnvoyGateway connects to addr as Envoy Gateway dials
// extensionManager.service.fqdn: the target, and so the authority the
// server's certificate is checked against, is <hostname>:<port>.
func dialAsEnvoyGateway(t *testing.T, addr string, creds credentials.TransportCredentials) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient("passthrough:///"+serviceHost+":5005",
		grpc.WithTransportCredentials(creds),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// callHook calls PostClusterModify as Envoy Gateway does for a
// TailscaleServices backendRef, and returns the server's certificate serial.
func callHook(t *testing.T, conn *grpc.ClientConn) (serial string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var p peer.Peer
	resp, err := extension.NewEnvoyGatewayExtensionClient(conn).PostClusterModify(ctx, &extension.PostClusterModifyRequest{
		Cluster: egsample.Cluster(),
		PostClusterContext: &extension.PostClusterExtensionContext{
			BackendExtensionResources: []*extension.ExtensionResource{{UnstructuredBytes: egsample.TailscaleServices(nil)}},
		},
	}, grpc.Peer(&p))
	if err != nil {
		return "", err
	}
	if typ := resp.GetCluster().GetType(); typ != clusterv3.Cluster_STRICT_DNS {
		t.Errorf("PostClusterModify returned a cluster of type %v, want STRICT_DNS", typ)
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok {
		t.Fatalf("the connection is not TLS: %T", p.AuthInfo)
	}
	if info.State.Version != tls.VersionTLS13 {
		t.Errorf("TLS version %#x, want TLS 1.3 (%#x)", info.State.Version, tls.VersionTLS13)
	}
	return info.State.PeerCertificates[0].SerialNumber.String(), nil
}

func certPool(t *testing.T, caPEM []byte) *x509.CertPool {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("no CA certificate in the PEM")
	}
	return pool
}

// TestMutualTLSAsEnvoyGateway: with a server certificate and a client CA,
// Envoy Gateway's client with a certificate of that CA calls the hook;
// without a client certificate, with one of another CA, or in plain text
// it is refused.
func TestMutualTLSAsEnvoyGateway(t *testing.T) {
	logged := newSyncBuffer()
	ca := testcerts.NewCA(t, "extension CA")
	otherCA := testcerts.NewCA(t, "another CA")
	certPEM, keyPEM := ca.Server(t, serviceHost)
	secret := testcerts.NewSecretDir(t, map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM, "ca.crt": ca.PEM})
	addr := serveTLS(t, tlsFlags{cert: secret.File("tls.crt"), key: secret.File("tls.key"), clientCA: secret.File("ca.crt")}, &fakeClock{now: time.Now()}, slog.New(slog.NewTextHandler(logged, nil)))

	if _, err := callHook(t, dialAsEnvoyGateway(t, addr, envoyGatewayCreds(t, ca.PEM, ca.ClientKeyPair(t, "envoy-gateway")))); err != nil {
		t.Fatalf("with a client certificate of the client CA: %v", err)
	}
	for name, creds := range map[string]credentials.TransportCredentials{
		"no client certificate":              envoyGatewayCreds(t, ca.PEM, nil),
		"a client certificate of another CA": envoyGatewayCreds(t, ca.PEM, otherCA.ClientKeyPair(t, "envoy-gateway")),
		"plain text":                         insecure.NewCredentials(),
	} {
		_, err := callHook(t, dialAsEnvoyGateway(t, addr, creds))
		if status.Code(err) != codes.Unavailable {
			t.Errorf("%s: PostClusterModify = %v, want refused (Unavailable)", name, err)
		}
	}
	// The server logs a refusal after the client has seen it.
	threeRefusals := func(s string) bool { return strings.Count(s, "refused a TLS connection") >= 3 }
	if !logged.waitFor(threeRefusals, 10*time.Second) {
		t.Errorf("fewer than 3 refused handshakes logged:\n%s", logged.String())
	}
}

// syncBuffer is a bytes.Buffer for a logger that goroutines share; waitFor
// waits until what was written satisfies a condition.
type syncBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	written chan struct{} // a token after each write
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{written: make(chan struct{}, 1)} }

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	defer func() {
		select {
		case b.written <- struct{}{}:
		default:
		}
	}()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string { b.mu.Lock(); defer b.mu.Unlock(); return b.buf.String() }

// waitFor reports whether ok(what was written) became true within timeout.
func (b *syncBuffer) waitFor(ok func(string) bool, timeout time.Duration) bool {
	deadline := time.After(timeout)
	for !ok(b.String()) {
		select {
		case <-b.written:
		case <-deadline:
			return false
		}
	}
	return true
}

// TestServerTLSChecksTheHostName: without a client CA any client may call,
// but Envoy Gateway accepts the certificate only if it names the host it
// dials, and only if its CA signed it.
func TestServerTLSChecksTheHostName(t *testing.T) {
	ca := testcerts.NewCA(t, "extension CA")
	for _, tt := range []struct {
		name   string
		hosts  []string
		trust  []byte
		wantOK bool
	}{
		{"the service's host name", []string{serviceHost}, ca.PEM, true},
		{"another host name", []string{"tsgw-envoy-extension.other.svc.cluster.local", "127.0.0.1"}, ca.PEM, false},
		{"a CA Envoy Gateway does not trust", []string{serviceHost}, testcerts.NewCA(t, "another CA").PEM, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			certPEM, keyPEM := ca.Server(t, tt.hosts...)
			secret := testcerts.NewSecretDir(t, map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM})
			addr := serveTLS(t, tlsFlags{cert: secret.File("tls.crt"), key: secret.File("tls.key")}, &fakeClock{now: time.Now()}, quiet)
			_, err := callHook(t, dialAsEnvoyGateway(t, addr, envoyGatewayCreds(t, tt.trust, nil)))
			if tt.wantOK && err != nil {
				t.Errorf("refused: %v", err)
			}
			if !tt.wantOK && status.Code(err) != codes.Unavailable {
				t.Errorf("PostClusterModify = %v, want refused (Unavailable)", err)
			}
		})
	}
}

// TestRotatedCertificateOnTheNextConnection: after the kubelet-style swap
// of the Secret's files, the next connection once the files are read again
// gets the new certificate; the open connection keeps working.
func TestRotatedCertificateOnTheNextConnection(t *testing.T) {
	ca := testcerts.NewCA(t, "extension CA")
	certPEM, keyPEM := ca.Server(t, serviceHost)
	secret := testcerts.NewSecretDir(t, map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM, "ca.crt": ca.PEM})
	clock := &fakeClock{now: time.Now()}
	addr := serveTLS(t, tlsFlags{cert: secret.File("tls.crt"), key: secret.File("tls.key"), clientCA: secret.File("ca.crt")}, clock, quiet)
	creds := envoyGatewayCreds(t, ca.PEM, ca.ClientKeyPair(t, "envoy-gateway"))
	open := dialAsEnvoyGateway(t, addr, creds)
	before, err := callHook(t, open)
	if err != nil {
		t.Fatal(err)
	}

	newCert, newKey := ca.Server(t, serviceHost)
	secret.Update(t, map[string][]byte{"tls.crt": newCert, "tls.key": newKey, "ca.crt": ca.PEM})
	clock.Advance(tlsfiles.RecheckEvery)
	after, err := callHook(t, dialAsEnvoyGateway(t, addr, creds))
	if err != nil {
		t.Fatalf("a new connection after the rotation: %v", err)
	}
	if after == before {
		t.Errorf("a new connection after the rotation still got certificate serial %s", before)
	}
	if got, err := callHook(t, open); err != nil || got != before {
		t.Errorf("the connection opened before the rotation: serial %s, %v; want %s, working", got, err, before)
	}
}

// TestHealthListenerIsPlainText: with TLS on the main listener, the
// kubelet's plain-text gRPC probe still gets SERVING on --health-listen,
// which serves nothing but health.
func TestHealthListenerIsPlainText(t *testing.T) {
	ca := testcerts.NewCA(t, "extension CA")
	certPEM, keyPEM := ca.Server(t, serviceHost)
	secret := testcerts.NewSecretDir(t, map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM})
	creds, transport, err := transportCredentials(tlsFlags{cert: secret.File("tls.crt"), key: secret.File("tls.key")}, nil, quiet)
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	health, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, lis, health, serveOptions{clusterDomain: "cluster.local", creds: creds, transport: transport}, quiet)
	}()

	conn, err := grpc.NewClient(health.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	resp, err := healthpb.NewHealthClient(conn).Check(t.Context(), &healthpb.HealthCheckRequest{})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health Check on --health-listen = %v, %v; want SERVING", resp, err)
	}
	_, err = extension.NewEnvoyGatewayExtensionClient(conn).PostClusterModify(t.Context(), &extension.PostClusterModifyRequest{})
	if status.Code(err) != codes.Unimplemented {
		t.Errorf("PostClusterModify on --health-listen = %v, want Unimplemented: the hooks are only on --listen", err)
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("run returned %v after its context ended, want nil", err)
	}
}

// TestPlainTextWarns: without a certificate the listener is plain text,
// serves the hook, and the log says it is unauthenticated.
func TestPlainTextWarns(t *testing.T) {
	var logged bytes.Buffer
	creds, transport, err := transportCredentials(tlsFlags{}, nil, slog.New(slog.NewTextHandler(&logged, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if transport != "plaintext" || creds.Info().SecurityProtocol != "insecure" {
		t.Errorf("transport %q, security protocol %q; want plain text", transport, creds.Info().SecurityProtocol)
	}
	if !strings.Contains(logged.String(), "level=WARN") || !strings.Contains(logged.String(), "unauthenticated") {
		t.Errorf("no warning that the listener is unauthenticated: %s", logged.String())
	}
}

// TestBadTLSFileStopsTheStart: a file that cannot be used is an error naming
// its flag and path.
func TestBadTLSFileStopsTheStart(t *testing.T) {
	missing := t.TempDir() + "/tls.crt"
	_, _, err := transportCredentials(tlsFlags{cert: missing, key: missing}, nil, quiet)
	if err == nil || !strings.Contains(err.Error(), "--tls-cert-file="+missing) {
		t.Errorf("transportCredentials = %v, want an error naming --tls-cert-file=%s", err, missing)
	}
}

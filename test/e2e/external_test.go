package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	gatewayv1alpha1 "github.com/tailscale-gateway/tailscale-gateway/api/v1alpha1"
	"github.com/tailscale-gateway/tailscale-gateway/internal/planner"
)

// TestExternalHTTPS: a weighted service over a pool of two machines and
// an external HTTPS backend whose certificate is signed by a private CA,
// given to the operator in a Secret (caBundle).
//
// The VIP host dials the external service with plain TCP and passes the
// client's bytes through, so the client must speak TLS to reach it; the
// pool's own backend therefore also speaks TLS (and plain HTTP on the same
// port, for the service's HTTP health checks of the pool's machines), and
// the client speaks HTTPS through the VIP service, without verifying (the
// two servers share httptest's certificate), counting which server
// answered.
//
//   - weights {pool: 50, ext: 50}: the external answers 50% ± 7 points of
//     300 connections (8 concurrent clients); status.loadBalancingStatus.
//     endpointWeights shows both groups at 50;
//   - the external's health path answers 503: it is dropped, every answer
//     from the pool (20 in a row), within unhealthyThreshold × interval +
//     timeout (2 × 1s + 500ms) + 3s of slack (jittered intervals, the
//     client's loop), as in TestFailover; status.vipServiceStatus.
//     healthyBackendCount drops from 3 to 2 (within 30s: status follows the
//     machines' reports and the services controller's 10s resync);
//   - the health path answers 200 again: healthyBackendCount is back to 3;
//     then caBundle is removed from the external service: its HTTPS checks
//     fail (the system roots do not know the private CA) and
//     healthyBackendCount is 2 again (status only, within 30s).
func TestExternalHTTPS(t *testing.T) {
	s := newScenario(t, "e2e-ext")
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()

	ext := newExternalHTTPS(t, "ext")
	cert := ext.srv.Certificate()
	if !slices.ContainsFunc(cert.IPAddresses, func(ip net.IP) bool { return ip.Equal(net.IPv4(127, 0, 0, 1)) }) {
		t.Fatalf("httptest's certificate is not for 127.0.0.1: IPs %v, names %v", cert.IPAddresses, cert.DNSNames)
	}
	t.Logf("external HTTPS backend on %s, certificate for %v %v (self-signed, CA %t)", ext.addr, cert.DNSNames, cert.IPAddresses, cert.IsCA)
	own := newDualBackend(t, "pool", ext.srv.TLS.Certificates[0])

	caSecret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: s.ns + "-ca", Namespace: s.ns},
		Data:       map[string][]byte{"ca.crt": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})},
	}
	if err := env.Client.Create(ctx, caSecret); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"app": "ext"}
	poolName := s.poolAt("p", labels, 2, own.addr)
	_, port, _ := net.SplitHostPort(ext.addr)
	portNum, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	hc := healthCheck()
	hc.Path = "/healthz"
	ts := &gatewayv1alpha1.TailscaleServices{
		ObjectMeta: metav1.ObjectMeta{Name: s.ns, Namespace: s.ns},
		Spec: gatewayv1alpha1.TailscaleServicesSpec{
			Selector: metav1.LabelSelector{MatchLabels: labels},
			VIPService: &gatewayv1alpha1.VIPServiceSpec{
				Ports:       []gatewayv1alpha1.VIPServicePort{"tcp:80"},
				Tags:        []gatewayv1alpha1.Tag{poolTag},
				AutoApprove: true,
			},
			LoadBalancing: &gatewayv1alpha1.LoadBalancingSpec{
				Strategy:    gatewayv1alpha1.StrategyWeighted,
				HealthCheck: hc,
				Weights:     map[string]int32{poolName: 50},
			},
			ServiceDiscovery: &gatewayv1alpha1.ServiceDiscoverySpec{
				ExternalServices: []gatewayv1alpha1.ExternalService{{
					Name: "ext", Address: "127.0.0.1", Port: int32(portNum), Protocol: "HTTPS",
					Weight: ptr.To[int32](50), CABundle: &gatewayv1alpha1.SecretKeyReference{Name: caSecret.Name},
				}},
			},
		},
	}
	if err := env.Client.Create(ctx, ts); err != nil {
		t.Fatalf("creating TailscaleServices: %v", err)
	}
	url := "https://" + s.ns + "." + env.Lab.Domain() + ":80/"
	c := tlsVIPClient(5 * time.Second)

	began := time.Now()
	converge, cancelConverge := context.WithTimeout(ctx, convergeTimeout)
	s.waitStatus(converge, "the service to be Ready with 3 healthy backends", ready(3))
	seen := map[string]bool{}
	waitUntil(t, converge, url+" to answer from pool and ext", func() error {
		name, err := ask(converge, c, url)
		if err != nil {
			return err
		}
		seen[name] = true
		if !seen["pool"] || !seen["ext"] {
			return fmt.Errorf("seen %v so far", seen)
		}
		return nil
	}, true)
	cancelConverge()
	t.Logf("converged in %s; %s is hosted by %s", time.Since(began).Round(time.Millisecond), s.vipName(), s.hostPod(ctx))

	const n = 300
	began = time.Now()
	l := sendWith(ctx, c, url, n, 8)
	t.Logf("%d connections in %s: %s", n, time.Since(began).Round(time.Millisecond), l)
	checkLoad(t, l, n)
	if got := l.share("ext"); math.Abs(got-0.5) > 0.07 || l.total()-l.counts["ext"]-l.counts["pool"] != 0 {
		s.logReports(ctx)
		t.Errorf("ext got %.1f%% of %d connections (%s), want 50%% ± 7", 100*got, l.total(), l)
	}
	s.waitStatus(ctx, "endpointWeights of both groups", func(ts *gatewayv1alpha1.TailscaleServices) error {
		lb := ts.Status.LoadBalancingStatus
		if lb == nil || len(lb.EndpointWeights) != 2 || lb.EndpointWeights[poolName] != 50 || lb.EndpointWeights["ext"] != 50 {
			return fmt.Errorf("loadBalancingStatus %+v", lb)
		}
		return nil
	})

	// The external's health check fails.
	ext.failing.Store(true)
	failed := time.Now()
	dropWithin := 2*time.Second + 500*time.Millisecond + 3*time.Second
	const run = 20
	var (
		runStart time.Time
		inRun    int
		errs     []error
	)
	waitUntil(t, ctx, fmt.Sprintf("%d answers in a row from the pool", run), func() error {
		for inRun < run {
			at := time.Now()
			name, err := ask(ctx, c, url)
			switch {
			case errors.Is(err, errConnectStall):
				return err // neither breaks nor extends the run
			case err != nil:
				errs = append(errs, err)
				inRun = 0
				return err
			case name != "pool":
				inRun = 0
				return fmt.Errorf("answered by %s", name)
			}
			if inRun == 0 {
				runStart = at
			}
			inRun++
		}
		return nil
	}, true)
	dropped := runStart.Sub(failed)
	t.Logf("ext dropped %s after its health path began to answer 503 (tolerance %s); %d failed requests meanwhile", dropped.Round(time.Millisecond), dropWithin, len(errs))
	if dropped > dropWithin {
		t.Errorf("ext dropped after %s, want at most %s", dropped.Round(time.Millisecond), dropWithin)
	}
	if len(errs) > 0 {
		t.Errorf("%d requests failed while ext was being dropped; first: %v", len(errs), errs[0])
	}
	statusWithin := 30 * time.Second
	within, cancelWithin := context.WithTimeout(ctx, statusWithin)
	s.waitStatus(within, "healthyBackendCount 2 of 3", healthyBackends(3, 2))
	cancelWithin()
	t.Logf("healthyBackendCount 2 of 3 %s after the external's health path failed", time.Since(failed).Round(time.Millisecond))
	s.checkExternalUnhealthy(ctx, "ext", 2)

	// Healthy again, then without the CA bundle.
	ext.failing.Store(false)
	within, cancelWithin = context.WithTimeout(ctx, statusWithin)
	s.waitStatus(within, "healthyBackendCount 3 of 3 again", healthyBackends(3, 3))
	cancelWithin()
	cur, err := s.status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	patch := ctrlclient.MergeFrom(cur.DeepCopy())
	cur.Spec.ServiceDiscovery.ExternalServices[0].CABundle = nil
	if err := env.Client.Patch(ctx, cur, patch); err != nil {
		t.Fatal(err)
	}
	removed := time.Now()
	within, cancelWithin = context.WithTimeout(ctx, statusWithin)
	s.waitStatus(within, "healthyBackendCount 2 of 3 without the CA bundle", healthyBackends(3, 2))
	cancelWithin()
	t.Logf("without the CA bundle, healthyBackendCount 2 of 3 %s after the change", time.Since(removed).Round(time.Millisecond))
	s.checkExternalUnhealthy(ctx, "ext", 2)
}

// checkExternalUnhealthy checks that each of the service's hosts (hosts
// of them) reports the external service unhealthy and the rest of its
// backends healthy: the status's count is about that backend.
func (s *scenario) checkExternalUnhealthy(ctx context.Context, name string, hosts int) {
	s.t.Helper()
	reps, err := s.reports(ctx)
	if err != nil {
		s.t.Fatal(err)
	}
	key := planner.VIPServiceKey(s.vipName(), 80)
	n := 0
	for host, rep := range reps {
		svc, ok := rep.Services[key]
		if !ok {
			continue
		}
		n++
		for _, b := range svc.Backends {
			if want := b.Name != planner.ExternalBackendName(name); b.Healthy != want {
				s.t.Errorf("%s sees %s healthy=%t, want %t", host, b.Name, b.Healthy, want)
			}
		}
	}
	if n != hosts {
		s.t.Errorf("%d machines report %s, want %d", n, key, hosts)
	}
}

// healthyBackends accepts a status with `total` backends, `healthy` of
// them healthy.
func healthyBackends(total, healthy int32) func(*gatewayv1alpha1.TailscaleServices) error {
	return func(ts *gatewayv1alpha1.TailscaleServices) error {
		v := ts.Status.VIPServiceStatus
		if v == nil || v.BackendCount != total || v.HealthyBackendCount != healthy {
			return fmt.Errorf("vipServiceStatus %+v", v)
		}
		return nil
	}
}

// externalHTTPS is an httptest TLS server answering its name, whose
// /healthz answers 503 while failing is set.
type externalHTTPS struct {
	srv     *httptest.Server
	addr    string
	failing atomic.Bool
}

func newExternalHTTPS(t *testing.T, name string) *externalHTTPS {
	e := &externalHTTPS{}
	e.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" && e.failing.Load() {
			http.Error(w, "failing", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "%s\n", name)
	}))
	// Health checks that cannot verify the certificate make the server
	// log handshake errors: not the test's business.
	e.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	e.srv.StartTLS()
	t.Cleanup(e.srv.Close)
	e.addr = e.srv.Listener.Addr().String()
	return e
}

// dualBackend answers its name to HTTP and to HTTPS on one loopback port,
// telling them apart by the first byte a client sends (22 opens a TLS
// handshake).
type dualBackend struct {
	addr string
}

func newDualBackend(t *testing.T, name string, cert tls.Certificate) *dualBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprintf(w, "%s\n", name)
		}),
		ErrorLog: log.New(io.Discard, "", 0),
	}
	go srv.Serve(&sniffListener{Listener: ln, conf: &tls.Config{Certificates: []tls.Certificate{cert}}})
	t.Cleanup(func() { srv.Close() })
	return &dualBackend{addr: ln.Addr().String()}
}

type sniffListener struct {
	net.Listener
	conf *tls.Config
}

func (l *sniffListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &sniffConn{Conn: c, conf: l.conf}, nil
}

// sniffConn decides on its first Read (the HTTP server reads before it
// writes) whether it is TLS.
type sniffConn struct {
	net.Conn
	conf *tls.Config
	once sync.Once
	rw   io.ReadWriter
}

func (c *sniffConn) decide() {
	br := bufio.NewReader(c.Conn)
	buffered := &bufferedConn{Conn: c.Conn, r: br}
	if first, err := br.Peek(1); err == nil && first[0] == 22 {
		c.rw = tls.Server(buffered, c.conf)
		return
	}
	c.rw = buffered
}

func (c *sniffConn) Read(p []byte) (int, error) {
	c.once.Do(c.decide)
	return c.rw.Read(p)
}

func (c *sniffConn) Write(p []byte) (int, error) {
	c.once.Do(c.decide)
	return c.rw.Write(p)
}

// bufferedConn reads through the reader that peeked.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// tlsVIPClient is vipClient speaking HTTPS without verifying the server.
func tlsVIPClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			DialContext: dialVIP, DisableKeepAlives: true,
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
		},
	}
}

// sendWith is send with a client of the caller's: n requests from
// `workers` concurrent clients, with sendUntil's accounting.
func sendWith(ctx context.Context, c *http.Client, url string, n, workers int) load {
	return sendUntilWith(ctx, c, url, workers, func(i int) bool { return i < n })
}

package podmode_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"tailscale.com/tailcfg"

	"github.com/tailscale-gateway/tailscale-gateway/internal/apiemulator"
	"github.com/tailscale-gateway/tailscale-gateway/internal/kubetest"
	"github.com/tailscale-gateway/tailscale-gateway/internal/lab"
	"github.com/tailscale-gateway/tailscale-gateway/internal/pool"
	"github.com/tailscale-gateway/tailscale-gateway/internal/proxy/podmode"
)

const (
	namespace  = "pods"
	demoPolicy = `{"autoApprovers": {"services": {"svc:demo": ["tag:demo"]}}}`
)

// machineUnderTest is one pod: the only machine of its pool, with its own
// loopback backend answering with the pool's name.
type machineUnderTest struct {
	pool, pod string
	backend   string // host address of its local backend
	stop      context.CancelFunc
	done      chan struct{} // closed when Run returned, with err
	err       error
	admin     chan net.Addr
}

// TestPodMode runs two pool machines in the lab: the VIP service svc:demo
// is balanced round-robin by its host over its own backend and the other
// machine (dialed over the tailnet), reports land in the state Secrets, a
// configuration change keeps an established connection, and shutdown
// withdraws the VIP service.
//
// The machines are in two pools of one machine each, as the planner renders
// two selected pools: a pool's ConfigMap is shared by its machines, so only
// separate pools give each machine a backend of its own to tell apart.
func TestPodMode(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	env := kubetest.Start(t)
	env.Namespace(t, namespace)
	l, err := lab.Start(ctx, lab.Options{NoSOCKS5: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	emu := apiemulator.New(apiemulator.Options{ClientID: "lab", ClientSecret: "secret",
		TailnetDomain: l.Domain(), Tailnet: l, Policy: []byte(demoPolicy)})
	l.UseEmulator(emu)
	createVIPService(t, emu, "svc:demo")

	a := &machineUnderTest{pool: "east", pod: pool.PodName("east", 0), backend: serveName(t, "east")}
	b := &machineUnderTest{pool: "west", pod: pool.PodName("west", 0), backend: serveName(t, "west")}
	for _, m := range []*machineUnderTest{a, b} {
		writeConfig(t, env, m.pool, renderConfig(l.ControlURL(), m.backend, "", 0))
		start(t, env, m)
	}
	reports := waitReady(t, ctx, env, a, b)
	for _, m := range []*machineUnderTest{a, b} {
		other := reports[otherOf(m, a, b).pod].TailnetIPs[0]
		writeConfig(t, env, m.pool, renderConfig(l.ControlURL(), m.backend, other, 0))
	}
	clientNode, err := l.NewNode(ctx, lab.NodeOptions{Hostname: "client", Ephemeral: true})
	if err != nil {
		t.Fatal(err)
	}
	client, err := l.Dialer(clientNode) // reaches the tailnet only
	if err != nil {
		t.Fatal(err)
	}
	demo := "demo." + l.Domain() + ":80"

	t.Run("BalancedOverBothMachines", func(t *testing.T) {
		seen := map[string]bool{}
		eventually(t, ctx, "svc:demo answered by both pools' backends", func() error {
			body, err := get(ctx, client.Dial, demo)
			if err != nil {
				return err
			}
			seen[body] = true
			if !seen["east"] || !seen["west"] {
				return fmt.Errorf("answered by %v so far", seen)
			}
			return nil
		})
	})

	t.Run("Reports", func(t *testing.T) {
		host := waitHost(t, ctx, l)
		for _, m := range []*machineUnderTest{a, b} {
			checkReport(t, ctx, env, m, reports[m.pod].DeviceID == string(host))
		}
	})

	t.Run("Admin", func(t *testing.T) {
		checkAdmin(t, <-a.admin)
	})

	t.Run("ReloadKeepsEstablishedConnection", func(t *testing.T) {
		conn, err := client.Dial(ctx, "tcp", demo)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		r := bufio.NewReader(conn)
		if _, err := roundTrip(conn, r); err != nil {
			t.Fatal(err)
		}
		for _, m := range []*machineUnderTest{a, b} {
			other := reports[otherOf(m, a, b).pod].TailnetIPs[0]
			rv := writeConfig(t, env, m.pool, renderConfig(l.ControlURL(), m.backend, other, time.Hour))
			waitGeneration(t, ctx, env, m.pod, rv)
		}
		if _, err := roundTrip(conn, r); err != nil {
			t.Fatalf("the connection established before the change: %v", err)
		}
	})

	t.Run("RefusedConfigurationIsReported", func(t *testing.T) {
		m := a
		before, _, err := readReport(ctx, env, namespace, m.pod)
		if err != nil {
			t.Fatal(err)
		}
		bad := writeConfig(t, env, m.pool, "listeners: [{address: \"not an address\"}]\n")
		eventually(t, ctx, m.pod+" to report the refusal", func() error {
			st, _, err := readReport(ctx, env, namespace, m.pod)
			switch {
			case err != nil:
				return err
			case st.ConfigRefused == nil || st.ConfigRefused.Generation != bad || st.ConfigRefused.Error == "":
				return fmt.Errorf("refusal %+v, want version %s", st.ConfigRefused, bad)
			case st.ConfigGeneration != before.ConfigGeneration:
				return fmt.Errorf("runs version %s, want still %s", st.ConfigGeneration, before.ConfigGeneration)
			}
			return nil
		})
		other := reports[otherOf(m, a, b).pod].TailnetIPs[0]
		good := writeConfig(t, env, m.pool, renderConfig(l.ControlURL(), m.backend, other, time.Hour))
		waitGeneration(t, ctx, env, m.pod, good)
		if st, _, err := readReport(ctx, env, namespace, m.pod); err != nil || st.ConfigRefused != nil {
			t.Errorf("after a good version: refusal %+v, %v", st.ConfigRefused, err)
		}
	})

	t.Run("ShutdownWithdrawsTheService", func(t *testing.T) {
		host := waitHost(t, ctx, l)
		first, second := a, b
		if reports[b.pod].DeviceID == string(host) {
			first, second = b, a
		}
		first.stop()
		<-first.done
		if first.err != nil {
			t.Fatalf("%s stopped with %v", first.pod, first.err)
		}
		if st, _, err := readReport(ctx, env, namespace, first.pod); err != nil || st.Ready {
			t.Fatalf("%s after shutdown: ready=%v, %v; want ready=false", first.pod, st.Ready, err)
		}
		eventually(t, ctx, "svc:demo to move to "+second.pod, func() error {
			if h, ok := l.ServiceHost("svc:demo"); !ok || string(h) != reports[second.pod].DeviceID {
				return fmt.Errorf("hosted by %q", h)
			}
			_, err := get(ctx, client.Dial, demo)
			return err
		})
	})
}

// renderConfig is a pool's configuration: pool:80 on the machine's
// tailnet address forwards to its local backend; svc:demo:80 balances
// over the local backend and, once known, the other machine.
func renderConfig(controlURL, local, other string, idle time.Duration) string {
	var remote string
	if other != "" {
		remote = fmt.Sprintf(`
  - {name: other, address: "%s", network: tailnet}`, net.JoinHostPort(other, "80"))
	}
	return fmt.Sprintf(`tailnet:
  controlURL: %s
  tags: ["tag:demo"]
listeners:
- {address: ":80", network: tailnet, service: "pool:80"}
- {address: ":80", network: tailnet, vipService: "svc:demo", service: "svc:demo:80"}
services:
- name: "pool:80"
  backends:
  - {name: local, address: "%s"}
- name: "svc:demo:80"
  strategy: round-robin
  idleTimeout: %s
  backends:
  - {name: local, address: "%s"}%s
`, controlURL, local, idle, local, remote)
}

// writeConfig creates or updates the pool's ConfigMap and returns its
// resource version.
func writeConfig(t *testing.T, env *kubetest.Env, poolName, config string) string {
	t.Helper()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: pool.ConfigMapName(poolName)}}
	err := env.Client.Get(t.Context(), client.ObjectKeyFromObject(cm), cm)
	cm.Data = map[string]string{pool.ConfigKey: config}
	switch {
	case err == nil:
		err = env.Client.Update(t.Context(), cm)
	case client.IgnoreNotFound(err) == nil:
		err = env.Client.Create(t.Context(), cm)
	}
	if err != nil {
		t.Fatal(err)
	}
	return cm.ResourceVersion
}

// start runs the machine's pod mode in-process until the test ends.
func start(t *testing.T, env *kubetest.Env, m *machineUnderTest) {
	kube := podObjects(t, env, namespace, m.pool, m.pod)
	ctx, cancel := context.WithCancel(context.Background())
	m.stop, m.done, m.admin = cancel, make(chan struct{}), make(chan net.Addr, 1)
	opts := podmode.Options{
		Identity:        podmode.Identity{Pod: m.pod, Namespace: namespace, Pool: m.pool},
		Kube:            kube,
		AdminAddress:    "127.0.0.1:0",
		StateDir:        t.TempDir(),
		DrainTimeout:    5 * time.Second,
		CounterInterval: 200 * time.Millisecond,
		ReportInterval:  100 * time.Millisecond,
		Logger:          testLogger(t, m.pod),
		Serving:         func(admin net.Addr) { m.admin <- admin },
	}
	go func() {
		defer close(m.done)
		m.err = podmode.Run(ctx, opts)
	}()
	t.Cleanup(func() {
		cancel()
		<-m.done
	})
}

func testLogger(t *testing.T, pod string) *slog.Logger {
	if os.Getenv("PODMODE_VERBOSE") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})).With("test", t.Name())
}

func otherOf(m, a, b *machineUnderTest) *machineUnderTest {
	if m == a {
		return b
	}
	return a
}

// waitReady waits for both machines' reports to say ready.
func waitReady(t *testing.T, ctx context.Context, env *kubetest.Env, ms ...*machineUnderTest) map[string]pool.MachineStatus {
	out := map[string]pool.MachineStatus{}
	for _, m := range ms {
		eventually(t, ctx, m.pod+" to report ready", func() error {
			st, _, err := readReport(ctx, env, namespace, m.pod)
			if err == nil && (!st.Ready || len(st.TailnetIPs) == 0) {
				err = fmt.Errorf("report %+v", st)
			}
			out[m.pod] = st
			return err
		})
	}
	return out
}

func waitGeneration(t *testing.T, ctx context.Context, env *kubetest.Env, pod, rv string) {
	eventually(t, ctx, pod+" to apply version "+rv, func() error {
		st, _, err := readReport(ctx, env, namespace, pod)
		if err == nil && st.ConfigGeneration != rv {
			err = fmt.Errorf("at version %s", st.ConfigGeneration)
		}
		return err
	})
}

func waitHost(t *testing.T, ctx context.Context, l *lab.Lab) tailcfg.StableNodeID {
	var host tailcfg.StableNodeID
	eventually(t, ctx, "svc:demo to have a host", func() error {
		h, ok := l.ServiceHost("svc:demo")
		if !ok {
			return errors.New("no host")
		}
		host = h
		return nil
	})
	return host
}

// checkReport checks the state Secret: tailnet state beside a complete
// report. The VIP host counts connections to both svc:demo backends; the
// other machine counts those it received on pool:80 from the host.
func checkReport(t *testing.T, ctx context.Context, env *kubetest.Env, m *machineUnderTest, isHost bool) {
	eventually(t, ctx, m.pod+"'s report to count connections", func() error {
		st, data, err := readReport(ctx, env, namespace, m.pod)
		if err != nil {
			return err
		}
		if len(data) < 2 {
			return fmt.Errorf("state Secret keys %v: want the tailnet state beside %s", keys(data), pool.StatusKey)
		}
		if st.DeviceID == "" || st.Hostname != tailnetHostname(m.pod) || !strings.HasPrefix(st.FQDN, tailnetHostname(m.pod)+".") || !st.Ready {
			return fmt.Errorf("report %+v", st)
		}
		if n := len(st.Services["svc:demo:80"].Backends); n != 2 {
			return fmt.Errorf("svc:demo:80 has %d backends", n)
		}
		counted := "pool:80"
		if isHost {
			counted = "svc:demo:80"
		}
		for _, b := range st.Services[counted].Backends {
			if b.Total == 0 || !b.Healthy {
				return fmt.Errorf("%s = %+v; want every backend healthy and counted", counted, st.Services[counted])
			}
		}
		return nil
	})
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func checkAdmin(t *testing.T, admin net.Addr) {
	for path, want := range map[string]string{"/readyz": "ready", "/healthz": "ok", "/metrics": "tsgw_proxy_backend_connections_total"} {
		res, err := http.Get("http://" + admin.String() + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Errorf("GET %s: %s %q; want 200 with %q", path, res.Status, body, want)
		}
	}
}

// serveName serves HTTP on loopback, answering with name.
func serveName(t *testing.T, name string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, name)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

type dialFunc func(ctx context.Context, network, address string) (net.Conn, error)

// get sends one request on a new connection and returns the body.
func get(ctx context.Context, dial dialFunc, address string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := dial(ctx, "tcp", address)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	return roundTrip(conn, bufio.NewReader(conn))
}

// roundTrip sends one keep-alive request on conn and reads the answer.
func roundTrip(conn net.Conn, r *bufio.Reader) (string, error) {
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: demo\r\n\r\n"); err != nil {
		return "", err
	}
	res, err := http.ReadResponse(r, nil)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	return string(body), err
}

// Package termination stops a real tsgw-proxy process under load the way the
// kubelet stops a pod's container: SIGTERM, then SIGKILL when the
// termination grace period ends. The proxy runs in standalone mode, so its
// listeners are plain loopback sockets and no tailnet is needed; the drain
// under test (proxy.Engine.Shutdown) is the one pod mode runs after
// withdrawing its VIP services (internal/proxy/podmode/serve.go).
package termination

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// proxyBinary is tsgw-proxy, built once for the package by TestMain.
var proxyBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tsgw-termination-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	proxyBinary = filepath.Join(dir, "proxy")
	build := exec.Command("go", "build", "-o", proxyBinary, "./cmd/proxy")
	build.Dir = repoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the proxy: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// proxyProcess is a running tsgw-proxy.
type proxyProcess struct {
	cmd *exec.Cmd
	// byIP and byName are its two listeners: one toward its backend by IP
	// address, relayed by the event loops, one toward its backend by host
	// name, handed to goroutines (internal/eventloop, start). Both drain.
	byIP, byName string
	admin        string
	stderr       *syncBuffer
	exited       chan struct{}
	exitedAt     time.Time
	state        *os.ProcessState
}

// startProxy runs tsgw-proxy in front of ipBackend (by address) and
// nameBackend (by host name) with --drain-timeout drain and waits until it
// serves. Its listening ports are picked free beforehand;
// another process taking one in between makes the proxy refuse to start,
// and then it is started again on other ports.
func startProxy(t *testing.T, ipBackend, nameBackend *backend, drain time.Duration) *proxyProcess {
	t.Helper()
	for attempt := 1; ; attempt++ {
		p, err := tryStartProxy(t, ipBackend, nameBackend, drain)
		if err == nil {
			return p
		}
		if !errors.Is(err, errPortTaken) || attempt == 3 {
			t.Fatal(err)
		}
	}
}

var errPortTaken = errors.New("a listening port was taken")

func tryStartProxy(t *testing.T, ipBackend, nameBackend *backend, drain time.Duration) (*proxyProcess, error) {
	ports := freePorts(t, 3)
	p := &proxyProcess{
		byIP:   fmt.Sprintf("127.0.0.1:%d", ports[0]),
		byName: fmt.Sprintf("127.0.0.1:%d", ports[1]),
		admin:  fmt.Sprintf("127.0.0.1:%d", ports[2]),
		stderr: &syncBuffer{},
		exited: make(chan struct{}),
	}
	var byIP, byName strings.Builder
	for i, port := range ipBackend.ports() {
		fmt.Fprintf(&byIP, "      - {name: b%d, address: \"127.0.0.1:%d\"}\n", i, port)
	}
	for i, port := range nameBackend.ports() {
		fmt.Fprintf(&byName, "      - {name: b%d, address: \"localhost:%d\"}\n", i, port)
	}
	config := fmt.Sprintf(`admin: {address: %q}
listeners:
  - {address: %q, service: by-ip}
  - {address: %q, service: by-name}
services:
  - name: by-ip
    backends:
%s  - name: by-name
    backends:
%s`, p.admin, p.byIP, p.byName, byIP.String(), byName.String())
	path := filepath.Join(t.TempDir(), "proxy.yaml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		return nil, err
	}
	p.cmd = exec.Command(proxyBinary, "--config", path, "--drain-timeout", drain.String())
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		p.cmd.Wait()
		p.exitedAt = time.Now()
		p.state = p.cmd.ProcessState
		close(p.exited)
	}()
	t.Cleanup(func() {
		if !p.hasExited() {
			p.cmd.Process.Kill() // our own child, by its pid
			<-p.exited
		}
		if t.Failed() {
			t.Logf("proxy log:\n%s", p.stderr.String())
		}
	})
	if err := p.waitReady(30 * time.Second); err != nil {
		if p.hasExited() && strings.Contains(p.stderr.String(), "address already in use") {
			return nil, errPortTaken
		}
		return nil, fmt.Errorf("%w\nproxy log:\n%s", err, p.stderr.String())
	}
	return p, nil
}

// waitReady waits for /readyz to answer 200: the configuration is applied,
// so the listeners are open.
func (p *proxyProcess) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		if p.hasExited() {
			return fmt.Errorf("the proxy exited at start: %s", p.state)
		}
		if code, err := p.readyz(); err == nil && code == http.StatusOK {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the proxy was not ready after %s", limit)
		}
		time.Sleep(20 * time.Millisecond) // polling a condition
	}
}

func (p *proxyProcess) readyz() (int, error) {
	client := http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get("http://" + p.admin + "/readyz")
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// connections describes what the proxy holds, for a failure's log: its
// active-connection gauges and its TCP sockets (ss(8), where installed).
func (p *proxyProcess) connections() string {
	var out strings.Builder
	client := http.Client{Timeout: 2 * time.Second}
	if resp, err := client.Get("http://" + p.admin + "/metrics"); err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, line := range strings.Split(string(body), "\n") {
			if strings.HasPrefix(line, "tsgw_proxy_backend_connections_active") {
				fmt.Fprintln(&out, line)
			}
		}
	}
	ss, err := exec.Command("ss", "-tanpo").CombinedOutput()
	if err != nil {
		return out.String()
	}
	pid := fmt.Sprintf("pid=%d,", p.cmd.Process.Pid)
	for _, line := range strings.Split(string(ss), "\n") {
		if strings.Contains(line, pid) {
			fmt.Fprintln(&out, line)
		}
	}
	return out.String()
}

func (p *proxyProcess) hasExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

func (p *proxyProcess) signal(sig syscall.Signal) error { return p.cmd.Process.Signal(sig) }

// freePorts returns n loopback ports free a moment ago.
func freePorts(t *testing.T, n int) []int {
	var ports []int
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

// syncBuffer is the proxy's stderr, written by exec's copier and read by
// the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

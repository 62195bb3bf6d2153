// Package e2e tests Tailscale Gateway end to end: a real kube-apiserver
// (envtest), the lab tailnet, the Tailscale API emulator, the operator
// in-process and the pools' proxies as real processes, with real traffic
// from a lab client node through the VIP services to loopback backends.
//
// One dev environment serves the whole test binary; every test works in a
// namespace of its own, with pools and VIP services named after it (the
// tailnet and the emulator are shared, so names must be unique there too).
//
// Run with KUBEBUILDER_ASSETS set (`make test` sets it):
//
//	KUBEBUILDER_ASSETS=$HOME/.cache/tailscale-gateway/envtest/1.37.2 go test -count=1 ./test/e2e/
package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	ctrl "sigs.k8s.io/controller-runtime"
	"tailscale.com/tsnet"

	"github.com/tailscale-gateway/tailscale-gateway/internal/devenv"
	"github.com/tailscale-gateway/tailscale-gateway/internal/kubetest"
	"github.com/tailscale-gateway/tailscale-gateway/internal/lab"
)

// The environment every test shares, set up by TestMain.
var (
	env    *devenv.Env
	client *tsnet.Server // the lab client node that sends the traffic
	// clientDialer dials from client into the tailnet only: what no peer
	// routes (a deleted service's address) is refused, never sent out
	// through the host as the node's own Dial would.
	clientDialer *lab.Dialer
	setupErr     error  // why the environment could not start
	skipWhy      string // why the tests are skipped
	// logs collects the environment's log lines; a failing test prints
	// the tail (see dumpLogs).
	logs logBuffer
	// labLogs collects the lab's own (and its tsnet nodes') chatter.
	labLogs logBuffer
	// failed is set when a test fails: the state directory (the proxies'
	// logs) is then kept.
	failed atomic.Bool
	// proxyBinary and stateDir are what further clusters (startCluster)
	// start with.
	proxyBinary, stateDir string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		if os.Getenv("CI") == "true" {
			setupErr = fmt.Errorf("KUBEBUILDER_ASSETS is not set: run the tests with `make test`")
		} else {
			skipWhy = "KUBEBUILDER_ASSETS is not set: run `make test` (it builds the API server once per machine)"
		}
		return m.Run()
	}
	// The operator's log goes with the rest, shown when a test fails.
	ctrl.SetLogger(logr.FromSlogHandler(slog.NewTextHandler(&logs, nil)))
	stop, err := start()
	if err != nil {
		setupErr = err
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
	}
	code := m.Run()
	if stop != nil {
		if err := stop(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: stopping the environment: %v\n", err)
		}
	}
	return code
}

// start builds the proxy, starts the dev environment without samples and
// joins the client node. The returned stop is non-nil whenever something
// needs stopping, even with an error.
func start() (stop func() error, err error) {
	dir, err := os.MkdirTemp("", "tsgw-e2e-")
	if err != nil {
		return nil, err
	}
	removeDir := func() error { return os.RemoveAll(dir) }
	proxy := filepath.Join(dir, "proxy")
	began := time.Now()
	build := exec.Command("go", "build", "-o", proxy, "./cmd/proxy")
	build.Dir = repoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		return removeDir, fmt.Errorf("building the proxy: %v\n%s", err, out)
	}
	fmt.Fprintf(os.Stderr, "e2e: proxy built in %s\n", time.Since(began).Round(time.Millisecond))

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	began = time.Now()
	proxyBinary, stateDir = proxy, dir
	e, err := devenv.Start(ctx, devenv.Options{
		CRDDir:      kubetest.CRDDir(),
		StateDir:    filepath.Join(dir, "state"),
		ProxyBinary: proxy,
		PodOutput:   &logs,
		Logf:        labLogs.Logf,
	})
	if err != nil {
		return removeDir, fmt.Errorf("starting the dev environment: %w", err)
	}
	env = e
	stop = func() error {
		err := env.Stop()
		if failed.Load() {
			fmt.Fprintf(os.Stderr, "e2e: a test failed: the proxies' logs are kept in %s\n", env.PodLogDir)
		} else {
			removeDir()
		}
		return err
	}
	client, err = env.Lab.NewNode(ctx, lab.NodeOptions{Hostname: "e2e-client", Ephemeral: true})
	if err != nil {
		return stop, fmt.Errorf("joining the client node: %w", err)
	}
	if clientDialer, err = env.Lab.Dialer(client); err != nil {
		return stop, err
	}
	fmt.Fprintf(os.Stderr, "e2e: environment ready in %s\n", time.Since(began).Round(time.Millisecond))
	return stop, nil
}

// needEnv skips or fails the test when the environment is not there.
func needEnv(t *testing.T) {
	t.Helper()
	if skipWhy != "" {
		t.Skip(skipWhy)
	}
	if setupErr != nil {
		t.Fatal(setupErr)
	}
	t.Cleanup(func() {
		if t.Failed() {
			failed.Store(true)
			t.Logf("last lines of the lab's log:\n%s", labLogs.Tail(30))
			t.Logf("last lines of the operator's and the proxies' logs:\n%s", logs.Tail(150))
		}
	})
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// logBuffer keeps the last lines written to it, from the lab, the pod
// runner and the proxies, so that a failure can show what happened.
type logBuffer struct {
	mu      sync.Mutex
	lines   []string
	partial string
}

const keepLines = 4000

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.partial + string(p)
	parts := strings.Split(s, "\n")
	b.partial = parts[len(parts)-1]
	b.add(parts[:len(parts)-1]...)
	return len(p), nil
}

func (b *logBuffer) Logf(format string, args ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.add(time.Now().Format("15:04:05.000 ") + strings.TrimRight(fmt.Sprintf(format, args...), "\n"))
}

func (b *logBuffer) add(lines ...string) {
	b.lines = append(b.lines, lines...)
	if len(b.lines) > 2*keepLines {
		b.lines = append([]string(nil), b.lines[len(b.lines)-keepLines:]...)
	}
}

// Tail is the last n lines.
func (b *logBuffer) Tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	lines := b.lines
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

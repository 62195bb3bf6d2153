package operator_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// operatorProc is the operator running as its own process.
type operatorProc struct {
	t    *testing.T
	args []string
	env  []string
	log  *lockedBuffer

	mu  sync.Mutex
	cmd *exec.Cmd
}

// Timings the suite gives the operator: short enough for a test to see a
// blackholed call end and a held deletion let go, long enough for a
// loaded CI machine.
const (
	reconcileTimeout = 10 * time.Second
	cleanupBound     = 20 * time.Second
)

func newOperator(t *testing.T, kubeconfig []byte) *operatorProc {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}
	p := &operatorProc{
		t: t,
		args: []string{
			"--namespace=" + operatorNS, "--operator-id=" + operatorID,
			"--leader-elect=false", "--metrics-bind-address=0", "--health-probe-bind-address=0",
			"--proxy-image=tsgw-proxy:faults",
			"--reconcile-timeout=" + reconcileTimeout.String(), "--cleanup-bound=" + cleanupBound.String(),
		},
		env: append(os.Environ(), "KUBECONFIG="+path),
		log: &lockedBuffer{},
	}
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("operator log (tail):\n%s", p.log.tail(60))
		}
	})
	return p
}

// start runs the operator; a previous process must have been killed.
func (p *operatorProc) start() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	cmd := exec.Command(operatorBinary, p.args...)
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = p.log, p.log
	if err := cmd.Start(); err != nil {
		p.t.Fatalf("starting the operator: %v", err)
	}
	fmt.Fprintf(p.log, "--- operator started, pid %d\n", cmd.Process.Pid)
	p.cmd = cmd
}

// kill ends the operator with SIGKILL, as a node failure would: no
// deferred cleanup, no graceful shutdown. It is safe to call from an
// HTTP handler of an emulator while the operator waits on it.
func (p *operatorProc) kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	_ = p.cmd.Wait()
	fmt.Fprintf(p.log, "--- operator killed (SIGKILL), pid %d\n", p.cmd.Process.Pid)
	p.cmd = nil
}

// lockedBuffer collects a process's output.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// tail is the last n lines.
func (b *lockedBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	lines := bytes.Split(b.buf.Bytes(), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

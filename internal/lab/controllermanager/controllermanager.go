// Package controllermanager runs the real kube-controller-manager beside
// the lab's API server, with the controllers that make the lab's objects
// live and die as in a cluster: the garbage collector (owned objects go
// with their owner) and the namespace lifecycle (`kubectl delete
// namespace` completes). The StatefulSet controller stays off: the lab's
// pod runner is what turns StatefulSets into pods.
//
// The binary is built from the Go module proxy by hack/envtest-binaries.sh
// beside kube-apiserver, so it is found in KUBEBUILDER_ASSETS.
package controllermanager

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// Controllers are the controllers the lab runs.
var Controllers = []string{"garbage-collector-controller", "namespace-controller"}

// Options say where the binary is and which API server it manages.
type Options struct {
	// BinaryDir holds kube-controller-manager (KUBEBUILDER_ASSETS).
	BinaryDir string
	// Kubeconfig is the path of an admin kubeconfig of the API server.
	Kubeconfig string
	// Output receives its log; discarded if nil.
	Output io.Writer
}

// Process is a running kube-controller-manager.
type Process struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// Args are its command-line flags: the lab's controllers only, no leader
// election (one instance), and no serving port (several labs may run on
// one machine at once; nothing scrapes it).
func Args(kubeconfig string) []string {
	return []string{
		"--kubeconfig=" + kubeconfig,
		"--controllers=" + strings.Join(Controllers, ","),
		"--leader-elect=false",
		"--secure-port=0",
		"--concurrent-gc-syncs=5",
		"--namespace-sync-period=30s",
	}
}

// Start starts kube-controller-manager. The kernel kills it if this
// process dies without calling Stop.
func Start(opts Options) (*Process, error) {
	bin := filepath.Join(opts.BinaryDir, "kube-controller-manager")
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("kube-controller-manager not found in %q (built by hack/envtest-binaries.sh, `make envtest`): %w", opts.BinaryDir, err)
	}
	out := opts.Output
	if out == nil {
		out = io.Discard
	}
	cmd := exec.Command(bin, Args(opts.Kubeconfig)...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	p := &Process{cmd: cmd, done: make(chan struct{})}
	started := make(chan error, 1)
	go p.run(started)
	if err := <-started; err != nil {
		return nil, fmt.Errorf("starting kube-controller-manager: %w", err)
	}
	return p, nil
}

// run starts and waits for the process on one locked OS thread: Linux
// sends Pdeathsig when the thread that forked the child exits, and a
// goroutine that stays locked keeps that thread until the child is gone.
func (p *Process) run(started chan<- error) {
	runtime.LockOSThread() // never unlocked: the thread ends with the child
	if err := p.cmd.Start(); err != nil {
		started <- err
		close(p.done)
		return
	}
	started <- nil
	p.err = p.cmd.Wait()
	close(p.done)
}

// Stop ends it (SIGTERM, then SIGKILL after 10 seconds) and waits.
func (p *Process) Stop() error {
	select {
	case <-p.done:
		return fmt.Errorf("kube-controller-manager had exited on its own: %v", p.err)
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	var exit *exec.ExitError
	if errors.As(p.err, &exit) {
		return nil // ended by our signal
	}
	return p.err
}

// Exited is closed when the process has ended.
func (p *Process) Exited() <-chan struct{} { return p.done }

package podrunner

import (
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// stableRun is how long a process must run for its next crash to restart
// it after the shortest backoff again.
const stableRun = 10 * time.Second

// Replica describes one running replica, for tests and tools.
type Replica struct {
	Namespace, Pod string
	Ordinal        int
	PID            int    // 0 while waiting to restart
	AdminAddr      string // the process's --admin-address
	Ready          bool
	Restarts       int
	LogPath        string
}

// replica supervises the process of one pod: starts it, restarts it when
// it dies, and stops it on request.
type replica struct {
	Replica
	launch  launch
	argv    []string
	env     []string
	dir     string
	opts    *Options
	spawner *spawner
	out     io.WriteCloser
	changed func() // the replica's state changed: resync its StatefulSet

	cancel context.CancelFunc
	done   chan struct{}

	// Written by the worker syncing its StatefulSet only (see report.go).
	pod     *corev1.Pod // its Pod object; nil before it exists
	written *podState   // what the Pod's status reports; nil before it is written

	mu    sync.Mutex
	state podState
}

// newReplica prepares the pod's directory (kubeconfig, scratch space,
// output log) and picks its admin and metrics ports; start runs it.
func newReplica(r *Runner, sts *appsv1.StatefulSet, ordinal int, l launch) (*replica, error) {
	name := podName(sts.Name, ordinal)
	dir := filepath.Join(r.opts.StateDir, sts.Namespace, name)
	tmp := filepath.Join(dir, "tmp")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return nil, err
	}
	kubeconfig := filepath.Join(dir, "kubeconfig")
	kc, err := impersonatingKubeconfig(r.opts.Config, serviceAccountUser(sts.Namespace, serviceAccount(sts)))
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(kubeconfig, kc, 0o600); err != nil {
		return nil, err
	}
	admin, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	// The pod's --metrics-address (pool.MetricsPort) would be the same
	// port for every process of the host: each gets its own, after it.
	metrics, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	rep := &replica{
		Replica: Replica{Namespace: sts.Namespace, Pod: name, Ordinal: ordinal, AdminAddr: admin, LogPath: filepath.Join(dir, "output.log")},
		launch:  l,
		argv:    append(append(append([]string{}, l.Args...), r.opts.ExtraArgs...), "--kubeconfig", kubeconfig, "--admin-address", admin, "--metrics-address", metrics),
		env:     processEnv(l, kubeconfig, tmp),
		dir:     dir,
		opts:    &r.opts,
		spawner: r.spawner,
		changed: func() { r.queue.Add(sts.Namespace + "/" + sts.Name) },
	}
	if rep.out, err = r.output(rep.LogPath, sts.Namespace+"/"+name); err != nil {
		return nil, err
	}
	return rep, nil
}

// freeLoopbackAddr finds a free loopback port. Another program could take
// it before the process binds it; the process then fails and restarts.
func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", loopbackIP+":0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func (rep *replica) start() {
	ctx, cancel := context.WithCancel(context.Background())
	rep.cancel, rep.done = cancel, make(chan struct{})
	go rep.supervise(ctx)
}

// stop terminates the process (SIGTERM, SIGKILL after the grace period)
// and waits until it is gone.
func (rep *replica) stop() {
	rep.cancel()
	<-rep.done
}

func (rep *replica) supervise(ctx context.Context) {
	defer close(rep.done)
	defer rep.out.Close()
	backoff := rep.opts.RestartBackoff
	for {
		began := time.Now()
		err := rep.runOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		if time.Since(began) > stableRun {
			backoff = rep.opts.RestartBackoff
		}
		rep.opts.Logf("pod %s/%s exited (%v); restarting in %s", rep.Namespace, rep.Pod, err, backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, rep.opts.MaxRestartBackoff)
		rep.update(func(s *podState) { s.Restarts++ })
	}
}

// runOnce runs the process until it exits or ctx ends.
func (rep *replica) runOnce(ctx context.Context) error {
	cmd := exec.Command(rep.opts.Binary, rep.argv...)
	cmd.Env, cmd.Dir = rep.env, rep.dir
	cmd.Stdout, cmd.Stderr = rep.out, rep.out
	// A grandchild holding the output pipe must not block Wait forever.
	cmd.WaitDelay = time.Second
	if err := rep.spawner.start(cmd); err != nil {
		return err
	}
	pid := cmd.Process.Pid
	rep.update(func(s *podState) { s.Running, s.StartedAt, s.Ready = true, time.Now(), false })
	rep.setPID(pid)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	probeCtx, stopProbe := context.WithCancel(ctx)
	go rep.probe(probeCtx)
	var err error
	select {
	case err = <-exited:
	case <-ctx.Done():
		err = rep.terminate(pid, exited)
	}
	stopProbe()
	signalGroup(pid, sigKill) // whatever it left behind
	rep.setPID(0)
	rep.update(func(s *podState) { s.Running = false; s.setReady(false) })
	return err
}

// terminate asks the process to stop, then forces it.
func (rep *replica) terminate(pid int, exited <-chan error) error {
	signalGroup(pid, sigTerm)
	select {
	case err := <-exited:
		return err
	case <-time.After(rep.opts.GracePeriod):
		rep.opts.Logf("pod %s/%s did not exit within %s of SIGTERM: killing it", rep.Namespace, rep.Pod, rep.opts.GracePeriod)
		signalGroup(pid, sigKill)
		return <-exited
	}
}

func (rep *replica) setPID(pid int) {
	rep.mu.Lock()
	defer rep.mu.Unlock()
	rep.PID = pid
}

// update changes the state and, if that changed anything, says so.
func (rep *replica) update(f func(*podState)) {
	rep.mu.Lock()
	before := rep.state
	f(&rep.state)
	after := rep.state
	rep.mu.Unlock()
	if after != before {
		rep.changed()
	}
}

func (s *podState) setReady(ready bool) {
	if s.Ready != ready {
		s.Ready, s.ReadySince = ready, time.Now()
	}
}

// snapshot is the replica as it is now.
func (rep *replica) snapshot() (Replica, podState) {
	rep.mu.Lock()
	defer rep.mu.Unlock()
	r := rep.Replica
	r.Ready, r.Restarts = rep.state.Ready, rep.state.Restarts
	return r, rep.state
}

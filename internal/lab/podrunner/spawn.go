package podrunner

import (
	"errors"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
)

// spawner starts processes from one OS thread that lives until close.
// Linux sends a child its Pdeathsig when the thread that forked it exits,
// not the process; a Go goroutine moves between threads, and a thread can
// end whenever some goroutine exits while locked to it. Forking from a
// thread of our own ties the children's lives to the runner's.
type spawner struct {
	mu     sync.Mutex
	closed bool
	reqs   chan spawnRequest
}

type spawnRequest struct {
	cmd *exec.Cmd
	err chan error
}

const (
	sigTerm = syscall.SIGTERM
	sigKill = syscall.SIGKILL
)

var errSpawnerClosed = errors.New("podrunner: stopped")

func newSpawner() *spawner {
	s := &spawner{reqs: make(chan spawnRequest)}
	go s.loop()
	return s
}

// loop never unlocks the thread, so when it returns the thread exits and
// takes any child still alive with it.
func (s *spawner) loop() {
	runtime.LockOSThread()
	for req := range s.reqs {
		req.err <- req.cmd.Start()
	}
}

// start starts cmd with the runner's process attributes.
func (s *spawner) start(cmd *exec.Cmd) error {
	cmd.SysProcAttr = sysProcAttr()
	req := spawnRequest{cmd: cmd, err: make(chan error, 1)}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errSpawnerClosed
	}
	s.reqs <- req
	s.mu.Unlock()
	return <-req.err
}

func (s *spawner) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.reqs)
	}
}

// signalGroup signals the process group a child leads (see sysProcAttr),
// so that anything it started goes too.
func signalGroup(pid int, sig syscall.Signal) {
	_ = syscall.Kill(-pid, sig) // the group may be gone already: fine
}

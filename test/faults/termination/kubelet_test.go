package termination

import (
	"syscall"
	"time"
)

// podStop is the kubelet stopping the proxy's container: SIGTERM, then
// SIGKILL if the process is still there when the grace period ends
// (terminationGracePeriodSeconds, which the operator sets to
// pool.TerminationGracePeriod).
type podStop struct {
	p *proxyProcess
	// sigterm is when SIGTERM was sent.
	sigterm time.Time
	// done is closed once the process is gone, by itself or killed.
	done chan struct{}
	// killed says the grace period ran out and SIGKILL was sent.
	killed bool
}

// stopPod sends SIGTERM now and SIGKILL at the end of grace.
func stopPod(p *proxyProcess, grace time.Duration) *podStop {
	s := &podStop{p: p, sigterm: time.Now(), done: make(chan struct{})}
	p.signal(syscall.SIGTERM)
	go func() {
		defer close(s.done)
		kill := time.NewTimer(grace - time.Since(s.sigterm))
		defer kill.Stop()
		select {
		case <-p.exited:
		case <-kill.C:
			s.killed = true
			p.signal(syscall.SIGKILL)
			<-p.exited
		}
	}()
	return s
}

// exitedAfter is how long after SIGTERM the process was gone.
func (s *podStop) exitedAfter() time.Duration { return s.p.exitedAt.Sub(s.sigterm) }

// exitedByItself reports whether the proxy exited with status 0 without the
// kubelet's SIGKILL.
func (s *podStop) exitedByItself() bool {
	return !s.killed && s.p.state.Exited() && s.p.state.ExitCode() == 0
}

// killedBySIGKILL reports whether the process ended from SIGKILL.
func (s *podStop) killedBySIGKILL() bool {
	ws, ok := s.p.state.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

package podrunner

import "syscall"

// sysProcAttr puts each child in its own process group (so a terminal's
// Ctrl-C reaches only the runner, which then stops children in order) and
// has the kernel SIGKILL it if the runner dies without stopping it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

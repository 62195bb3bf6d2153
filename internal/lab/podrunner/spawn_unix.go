//go:build unix && !linux

package podrunner

import "syscall"

// sysProcAttr puts each child in its own process group. Without Linux's
// Pdeathsig, children outlive a runner that crashes; Stop still kills them.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

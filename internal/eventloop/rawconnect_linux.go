//go:build linux

package eventloop

import (
	"context"
	"net/netip"
	"syscall"
	"unsafe"
)

// RawConnect is a net.Dialer's ControlContext (internal/proxy's
// backendDialer): it starts the connection with a raw connect(2) before Go's
// own connect.
//
// Why: on loopback (and other local backends) connect(2) runs the whole
// handshake inline, the backend's SYN-ACK included, and takes tens of
// microseconds. Made through syscall.Syscall, as Go's is, that long a call
// lets sysmon hand the P to another thread (see rawSyscall in
// internal/proxy's pipe.go). Here the socket is non-blocking, so the raw
// call cannot block; Go's connect that follows finds the connection
// established (EISCONN) or in progress (EALREADY) and goes on as it always
// does: waiting for writability and reading SO_ERROR. Errors are left for
// Go's connect to find and report.
func RawConnect(_ context.Context, _, address string, c syscall.RawConn) error {
	ap, ok := IPLiteral(address)
	if !ok {
		return nil // not a plain IP literal: Go connects alone
	}
	return c.Control(func(fd uintptr) { connectRaw(fd, ap) })
}

// connectRaw starts a connection on a non-blocking socket: EINPROGRESS, 0
// when the handshake completed inline, or the error.
func connectRaw(fd uintptr, ap netip.AddrPort) syscall.Errno {
	port := [2]byte{byte(ap.Port() >> 8), byte(ap.Port())} // network byte order
	if ap.Addr().Is4() {
		sa := syscall.RawSockaddrInet4{Family: syscall.AF_INET, Addr: ap.Addr().As4()}
		*(*[2]byte)(unsafe.Pointer(&sa.Port)) = port
		_, _, errno := syscall.RawSyscall(syscall.SYS_CONNECT, fd, uintptr(unsafe.Pointer(&sa)), unsafe.Sizeof(sa))
		return errno
	}
	sa := syscall.RawSockaddrInet6{Family: syscall.AF_INET6, Addr: ap.Addr().As16()}
	*(*[2]byte)(unsafe.Pointer(&sa.Port)) = port
	_, _, errno := syscall.RawSyscall(syscall.SYS_CONNECT, fd, uintptr(unsafe.Pointer(&sa)), unsafe.Sizeof(sa))
	return errno
}

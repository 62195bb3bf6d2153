package proxy

import (
	"context"
	"net/netip"
	"syscall"
	"unsafe"
)

// rawConnect starts the connection to address with a raw connect(2) before
// Go's own: see backendDialer.
func rawConnect(_ context.Context, _, address string, c syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return nil // let Go dial it
	}
	var serr error
	err = c.Control(func(fd uintptr) {
		var errno syscall.Errno
		port := ap.Port()
		if ap.Addr().Is4() {
			sa := syscall.RawSockaddrInet4{Family: syscall.AF_INET, Addr: ap.Addr().As4()}
			p := (*[2]byte)(unsafe.Pointer(&sa.Port))
			p[0], p[1] = byte(port>>8), byte(port)
			_, _, errno = syscall.RawSyscall(syscall.SYS_CONNECT, fd, uintptr(unsafe.Pointer(&sa)), unsafe.Sizeof(sa))
		} else {
			sa := syscall.RawSockaddrInet6{Family: syscall.AF_INET6, Addr: ap.Addr().As16()}
			p := (*[2]byte)(unsafe.Pointer(&sa.Port))
			p[0], p[1] = byte(port>>8), byte(port)
			_, _, errno = syscall.RawSyscall(syscall.SYS_CONNECT, fd, uintptr(unsafe.Pointer(&sa)), unsafe.Sizeof(sa))
		}
		switch errno {
		case 0, syscall.EINPROGRESS, syscall.EALREADY, syscall.EINTR:
		default:
			serr = errno
		}
	})
	if err != nil {
		return err
	}
	return serr
}

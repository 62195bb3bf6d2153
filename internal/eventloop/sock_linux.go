package eventloop

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// System calls of the event loops. The loops own their sockets outright:
// none is registered with Go's poller, all are non-blocking, so every call
// here returns at once and is made as a raw system call (see rawSyscall in
// internal/proxy's pipe.go for why).

// listenSocket opens a non-blocking listening TCP socket on address with the
// options that accepted connections inherit (set, and TCP_NODELAY).
func listenSocket(address string, set func(fd int) error) (int, *net.TCPAddr, error) {
	ta, err := net.ResolveTCPAddr("tcp", address)
	if err != nil {
		return -1, nil, err
	}
	ip, _ := netip.AddrFromSlice(ta.IP)
	ip = ip.Unmap()
	dualStack := !ip.IsValid()
	family := unix.AF_INET6
	if ip.Is4() {
		family = unix.AF_INET
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil && dualStack {
		family = unix.AF_INET // no IPv6 on this host
		fd, err = unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	}
	if err != nil {
		return -1, nil, os.NewSyscallError("socket", err)
	}
	if err := bindAndListen(fd, family, dualStack, netip.AddrPortFrom(ip, uint16(ta.Port)), set); err != nil {
		unix.Close(fd)
		return -1, nil, err
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		return -1, nil, os.NewSyscallError("getsockname", err)
	}
	return fd, sockaddrToTCP(sa), nil
}

func bindAndListen(fd, family int, dualStack bool, ap netip.AddrPort, set func(fd int) error) error {
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return os.NewSyscallError("setsockopt", err)
	}
	if family == unix.AF_INET6 && dualStack {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 0); err != nil {
			return os.NewSyscallError("setsockopt", err)
		}
	}
	if set != nil {
		if err := set(fd); err != nil {
			return os.NewSyscallError("setsockopt", err)
		}
	}
	// Linux copies TCP_NODELAY to accepted sockets too: one call per
	// listener instead of one per connection.
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1); err != nil {
		return os.NewSyscallError("setsockopt", err)
	}
	var sa unix.Sockaddr
	if family == unix.AF_INET {
		sa = &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	} else {
		sa6 := &unix.SockaddrInet6{Port: int(ap.Port())}
		if ap.Addr().IsValid() {
			sa6.Addr = ap.Addr().As16()
		}
		sa = sa6
	}
	if err := unix.Bind(fd, sa); err != nil {
		return os.NewSyscallError("bind", err)
	}
	if err := unix.Listen(fd, listenBacklog()); err != nil {
		return os.NewSyscallError("listen", err)
	}
	return nil
}

// listenBacklog is the kernel's limit, as Go's own listeners use.
func listenBacklog() int {
	b, err := os.ReadFile("/proc/sys/net/core/somaxconn")
	if err != nil {
		return unix.SOMAXCONN
	}
	var n int
	if _, err := fmt.Sscan(string(b), &n); err != nil || n <= 0 {
		return unix.SOMAXCONN
	}
	return n
}

func sockaddrToTCP(sa unix.Sockaddr) *net.TCPAddr {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(sa.Addr[:]).To16(), Port: sa.Port}
	case *unix.SockaddrInet6:
		return &net.TCPAddr{IP: net.IP(sa.Addr[:]), Port: sa.Port}
	}
	return &net.TCPAddr{}
}

// acceptConn accepts one connection: its descriptor, or an errno (EAGAIN
// when none is waiting).
func acceptConn(lfd int) (int, unix.Errno) {
	fd, _, errno := unix.RawSyscall6(unix.SYS_ACCEPT4, uintptr(lfd), 0, 0,
		unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
	return int(fd), errno
}

// connectSocket starts a connection to ap: a non-blocking socket whose
// handshake is in progress or done, or the errno of socket(2) (sockErr) or
// connect(2).
func connectSocket(ap netip.AddrPort) (fd int, sockErr, connErr unix.Errno) {
	family := unix.AF_INET6
	if ap.Addr().Is4() {
		family = unix.AF_INET
	}
	r, _, errno := unix.RawSyscall(unix.SYS_SOCKET, uintptr(family), unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if errno != 0 {
		return -1, errno, 0
	}
	fd = int(r)
	setsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	errno = connectRaw(uintptr(fd), ap)
	if errno != 0 && errno != unix.EINPROGRESS {
		closeFD(fd)
		return -1, 0, errno
	}
	return fd, 0, 0
}

func setsockoptInt(fd, level, opt, value int) unix.Errno {
	v := int32(value)
	_, _, errno := unix.RawSyscall6(unix.SYS_SETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt),
		uintptr(unsafe.Pointer(&v)), 4, 0)
	return errno
}

// socketError reads and clears a socket's pending error (SO_ERROR).
func socketError(fd int) unix.Errno {
	v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return err.(unix.Errno)
	}
	return unix.Errno(v)
}

func closeFD(fd int) { unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0) }

// resetAndClose closes with a reset (SO_LINGER 0), as internal/proxy's
// closeRefused does.
func resetAndClose(fd int) {
	l := unix.Linger{Onoff: 1, Linger: 0}
	unix.RawSyscall6(unix.SYS_SETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_LINGER,
		uintptr(unsafe.Pointer(&l)), unsafe.Sizeof(l), 0)
	closeFD(fd)
}

func shutdownWrite(fd int) { unix.RawSyscall(unix.SYS_SHUTDOWN, uintptr(fd), unix.SHUT_WR, 0) }

// readFD reads into p: n > 0 bytes, 0 at end of input, or an errno.
func readFD(fd int, p []byte) (int, unix.Errno) {
	if len(p) == 0 {
		return 0, 0
	}
	n, _, errno := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	return int(n), errno
}

// sendFD writes p, without SIGPIPE when the peer is gone.
func sendFD(fd int, p []byte) (int, unix.Errno) {
	r, _, errno := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)),
		unix.MSG_NOSIGNAL, 0, 0)
	return int(r), errno
}

// spliceFD moves up to n bytes between descriptors, one of them a pipe.
func spliceFD(in, out, n int) (int, unix.Errno) {
	r, _, errno := unix.RawSyscall6(unix.SYS_SPLICE, uintptr(in), 0, uintptr(out), 0, uintptr(n),
		unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
	return int(r), errno
}

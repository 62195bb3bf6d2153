package proxy

import (
	"net"
	"syscall"
)

// tcpListenConfig sets TCP keep-alive once on the listening socket instead of
// on every accepted connection: Linux copies a listener's socket options to
// the connections it accepts, so this saves four setsockopt(2) calls per
// connection with the same result (TestAcceptedConnsInheritKeepAlive).
var tcpListenConfig = net.ListenConfig{
	KeepAlive: -1, // already set, see Control
	Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = setListenerOptions(int(fd)) })
		if err != nil {
			return err
		}
		return serr
	},
}

// setListenerOptions sets the keep-alive options that the listener's
// accepted connections inherit.
func setListenerOptions(fd int) error {
	for _, o := range [...]struct{ level, opt, value int }{
		{syscall.SOL_SOCKET, syscall.SO_KEEPALIVE, 1},
		{syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE, int(keepAliveIdle.Seconds())},
		{syscall.IPPROTO_TCP, syscall.TCP_KEEPINTVL, int(keepAliveInterval.Seconds())},
		{syscall.IPPROTO_TCP, syscall.TCP_KEEPCNT, keepAliveCount},
	} {
		if err := syscall.SetsockoptInt(fd, o.level, o.opt, o.value); err != nil {
			return err
		}
	}
	return nil
}

// Package drainlisten is a TCP listener for test backends that die the way
// a server draining its accept queue does: connections whose handshake
// completed are still served, new ones are refused at once.
//
// Why tests need it: closing a listening socket makes the kernel reset the
// connections that completed the handshake but were not accepted yet. To
// the proxy in front, those were established, so no dial retry can save
// them, and which ones are hit is a matter of scheduling. A test of "a
// backend killed under load loses no request" is about refused dials being
// retried and the dead backend ejected, not about that race.
package drainlisten

import (
	"net"
	"os"
	"sync"
	"syscall"
)

// Listener wraps a TCP listener; Kill drains and closes it.
type Listener struct {
	*net.TCPListener
	drained chan net.Conn
	once    sync.Once
}

// Wrap returns a Listener around ln.
func Wrap(ln *net.TCPListener) *Listener {
	return &Listener{TCPListener: ln, drained: make(chan net.Conn, 1024)}
}

// Accept returns drained connections first, then the socket's.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.drained:
		return c, nil
	default:
	}
	c, err := l.TCPListener.Accept()
	if err != nil {
		select { // connections drained by Kill are still served
		case c := <-l.drained:
			return c, nil
		default:
		}
	}
	return c, err
}

// Kill accepts what is queued (served by later Accepts), refuses new
// handshakes at once and closes the listener.
func (l *Listener) Kill() {
	l.once.Do(func() {
		raw, err := l.TCPListener.SyscallConn()
		if err != nil {
			l.TCPListener.Close()
			return
		}
		raw.Control(func(fd uintptr) {
			for {
				nfd, _, err := syscall.Accept4(int(fd), syscall.SOCK_CLOEXEC)
				if err != nil {
					break
				}
				f := os.NewFile(uintptr(nfd), "drained")
				if c, err := net.FileConn(f); err == nil {
					l.drained <- c
				}
				f.Close()
			}
			// shutdown(2) on a listening socket refuses new handshakes at
			// once, whereas Close waits for a blocked Accept to let go.
			syscall.Shutdown(int(fd), syscall.SHUT_RDWR)
		})
		l.TCPListener.Close()
	})
}

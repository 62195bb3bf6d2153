package eventloop

import (
	"net"
	"strings"
	"syscall"
	"testing"
)

// TestListenerAddressForms: the event loops listen on the address forms
// Go's listeners accept.
func TestListenerAddressForms(t *testing.T) {
	for _, address := range []string{"127.0.0.1:0", "[::1]:0", ":0", "localhost:0"} {
		fd, addr, err := listenSocket(address, nil)
		if err != nil {
			if strings.HasPrefix(address, "[::1]") {
				continue // no IPv6 loopback here
			}
			t.Fatalf("listen on %s: %v", address, err)
		}
		syscall.Close(fd)
		if addr.Port == 0 {
			t.Fatalf("listen on %s: bound %v, want a port", address, addr)
		}
	}
	if _, _, err := listenSocket("127.0.0.1:99999", nil); err == nil {
		t.Fatal("listen on port 99999 succeeded")
	}
}

// TestLoopListenerOptionsReachAcceptedSockets: the options the loops set
// once on a listening socket (TCP_NODELAY, and the engine's: keep-alive)
// are those of every socket it accepts, which is what saves setting them
// per connection.
func TestLoopListenerOptionsReachAcceptedSockets(t *testing.T) {
	const keepIdle = 17
	keepAlive := func(fd int) error {
		if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_KEEPALIVE, 1); err != nil {
			return err
		}
		return syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE, keepIdle)
	}
	lfd, addr, err := listenSocket("127.0.0.1:0", keepAlive)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(lfd)
	c, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var fd int
	var errno syscall.Errno
	waitFor(t, "the connection in the accept queue", func() bool {
		fd, errno = acceptConn(lfd)
		return errno != syscall.EAGAIN
	})
	if errno != 0 {
		t.Fatal(errno)
	}
	defer syscall.Close(fd)
	for _, o := range []struct {
		name       string
		level, opt int
		want       int
	}{
		{"TCP_NODELAY", syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1},
		{"SO_KEEPALIVE", syscall.SOL_SOCKET, syscall.SO_KEEPALIVE, 1},
		{"TCP_KEEPIDLE", syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE, keepIdle},
	} {
		got, err := syscall.GetsockoptInt(fd, o.level, o.opt)
		if err != nil || got != o.want {
			t.Errorf("accepted socket %s = %d (%v), want %d", o.name, got, err, o.want)
		}
	}
}

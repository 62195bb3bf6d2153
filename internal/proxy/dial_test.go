package proxy

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

// TestDialBackendTCP covers the default dialer's paths: IPv4 and IPv6
// literals (connected by rawConnect before Go's connect), a host name (the
// resolver), and a refused port.
func TestDialBackendTCP(t *testing.T) {
	for _, tc := range []struct{ name, listen, host string }{
		{"ipv4 literal", "127.0.0.1:0", "127.0.0.1"},
		{"ipv6 literal", "[::1]:0", "[::1]"},
		{"host name", "127.0.0.1:0", "localhost"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", tc.listen)
			if err != nil {
				t.Skipf("cannot listen on %s: %v", tc.listen, err)
			}
			defer ln.Close()
			go func() {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				io.Copy(c, c)
			}()
			_, port, _ := net.SplitHostPort(ln.Addr().String())
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			c, err := dialBackendTCP(ctx, "tcp", tc.host+":"+port)
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			defer c.Close()
			if _, err := c.Write([]byte("ping")); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 4)
			if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
				t.Fatalf("echo: %q, %v", buf, err)
			}
			if ka := sockoptInt(t, c, syscall.SOL_SOCKET, syscall.SO_KEEPALIVE); ka != 0 {
				t.Errorf("SO_KEEPALIVE = %d on a backend connection, want 0", ka)
			}
		})
	}
	t.Run("refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		c, err := dialBackendTCP(context.Background(), "tcp", addr)
		if err == nil {
			c.Close()
			t.Fatal("dial to a closed port succeeded")
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("error %v, want connection refused", err)
		}
	})
}

func sockoptInt(t *testing.T, c net.Conn, level, opt int) int {
	t.Helper()
	rc, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	var serr error
	if err := rc.Control(func(fd uintptr) { v, serr = syscall.GetsockoptInt(int(fd), level, opt) }); err != nil {
		t.Fatal(err)
	}
	if serr != nil {
		t.Fatal(serr)
	}
	return v
}

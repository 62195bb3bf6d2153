package proxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tailscale-gateway/tailscale-gateway/internal/proxyconfig"
)

// unansweredBackend returns the address of a listener whose accept queue
// is full, so that the kernel drops new SYNs and connects to it hang.
func unansweredBackend(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil { // room for one connection
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
	filler, err := net.Dial("tcp", addr) // takes the one place
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { filler.Close() })
	return addr
}

// TestConnectTimeoutTriesAnotherBackend: a backend that never answers the
// handshake costs each connection one connect timeout, then the
// connection goes to a backend that answers.
func TestConnectTimeoutTriesAnotherBackend(t *testing.T) {
	inEachMode(t, func(t *testing.T) {
		hang := unansweredBackend(t)
		cfg := echoConfig(hang, echoBackend(t))
		cfg.Services[0].ConnectTimeout = proxyconfig.Duration{Duration: 100 * time.Millisecond}
		e, addr := startEngine(t, cfg, nil)
		for i := range 4 {
			c, r := dialTCP(t, addr)
			fmt.Fprintf(c, "%d\n", i)
			expectLine(t, r, fmt.Sprintf("echo %d\n", i))
		}
		if st := backendStats(e, "e0"); st.Failed == 0 || st.Total != 0 {
			t.Fatalf("unanswering backend: %+v, want failed dials and no connection", st)
		}
	})
}

// TestNamedBackendIsServed: a backend given by host name is resolved; the
// event loops hand such services' connections to goroutines.
func TestNamedBackendIsServed(t *testing.T) {
	inEachMode(t, func(t *testing.T) {
		echo := echoBackend(t)
		_, port, _ := net.SplitHostPort(echo)
		_, addr := startEngine(t, echoConfig("localhost:"+port), nil)
		c, r := dialTCP(t, addr)
		io.WriteString(c, "named\n")
		expectLine(t, r, "echo named\n")
	})
}

// TestServerSpeaksFirst: the backend's greeting reaches a client that has
// sent nothing yet.
func TestServerSpeaksFirst(t *testing.T) {
	inEachMode(t, func(t *testing.T) {
		greeter, _ := tcpServer(t, func(c *net.TCPConn) {
			io.WriteString(c, "220 hello\n")
			io.Copy(io.Discard, c)
		})
		_, addr := startEngine(t, echoConfig(greeter), nil)
		_, r := dialTCP(t, addr)
		expectLine(t, r, "220 hello\n")
	})
}

// TestSlowReaderGetsEveryByte: a backend sends much more than socket
// buffers hold to a client that starts reading late and reads slowly, so
// the relay must hold data back (read/write and splice alike) and resume.
func TestSlowReaderGetsEveryByte(t *testing.T) {
	inEachMode(t, func(t *testing.T) {
		for _, splice := range []bool{true, false} {
			noSpliceBulk.Store(!splice)
			data := make([]byte, 16<<20)
			rand.Read(data)
			src, _ := tcpServer(t, func(c *net.TCPConn) { c.Write(data) })
			_, addr := startEngine(t, echoConfig(src), nil)
			c, _ := dialTCP(t, addr)
			time.Sleep(100 * time.Millisecond) // let the socket buffers on the way fill up
			var got bytes.Buffer
			buf := make([]byte, 1<<10)
			c.SetReadDeadline(time.Now().Add(30 * time.Second))
			for {
				n, err := c.Read(buf)
				got.Write(buf[:n])
				if err != nil {
					break
				}
			}
			if !bytes.Equal(got.Bytes(), data) {
				t.Fatalf("splice=%v: got %d bytes, want the %d sent, in order", splice, got.Len(), len(data))
			}
		}
		noSpliceBulk.Store(false)
	})
}

// TestEventLoopsReleaseDescriptors: after connections of every kind
// (served, refused, spliced) and a shutdown, the process holds no more
// descriptors than before the engine started.
func TestEventLoopsReleaseDescriptors(t *testing.T) {
	before := openDescriptors(t)
	// Not io.Copy(c, c), which would splice through pipes that Go keeps
	// in a pool of its own.
	echo, _ := tcpServer(t, func(c *net.TCPConn) { io.Copy(struct{ io.Writer }{c}, struct{ io.Reader }{c}) })
	refused := closedPort(t)
	cfg := echoConfig(echo, refused)
	cfg.Default()
	e := newEngine(t, cfg, Options{})
	addr := e.Addr("127.0.0.1:0").String()
	big := make([]byte, 1<<20)
	for i := range 20 {
		c, _ := dialTCP(t, addr)
		msg := []byte(fmt.Sprintf("line %d\n", i))
		if i%5 == 0 {
			msg = big
		}
		if got, err := echoInChunks(c, msg); err != nil || len(got) != len(msg) {
			t.Fatalf("connection %d: %d bytes back (%v), want %d", i, len(got), err, len(msg))
		}
		c.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	// The test's own echo server and its listener are still open.
	if after := openDescriptors(t); after > before+1 {
		t.Fatalf("%d descriptors open after shutdown, %d before: the engine leaked %d", after, before, after-before-1)
	}
}

func openDescriptors(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd:", err)
	}
	return len(entries)
}

// closedPort returns an address on which connections are refused.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestIPv6Backend: the loops connect to IPv6 backends too.
func TestIPv6Backend(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6 loopback:", err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			io.WriteString(c, "six\n")
			c.Close()
		}
	}()
	_, addr := startEngine(t, echoConfig(ln.Addr().String()), nil)
	_, r := dialTCP(t, addr)
	expectLine(t, r, "six\n")
}

// TestLoopsOutOfDescriptors: when accept fails for want of descriptors
// (EMFILE), a loop pauses that listener instead of spinning on it, and
// accepts the waiting connection once descriptors are free again. The
// engine and its clients run in a child process whose descriptor limit the
// test lowers; the backend stays in this one. The child has one loop
// (GOMAXPROCS=1), so the connection can only be served by the paused loop
// taking the listener back.
func TestLoopsOutOfDescriptors(t *testing.T) {
	backend := os.Getenv("TSGW_EMFILE_BACKEND")
	if backend == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestLoopsOutOfDescriptors$", "-test.v")
		cmd.Env = append(os.Environ(), "TSGW_EMFILE_BACKEND="+echoBackend(t), "GOMAXPROCS=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), "--- PASS: TestLoopsOutOfDescriptors") {
			t.Fatalf("child did not pass:\n%s", out)
		}
		return
	}
	if runtime.GOMAXPROCS(0) != 1 {
		t.Fatalf("GOMAXPROCS %d, want 1 (one loop)", runtime.GOMAXPROCS(0))
	}
	var logs lockedBuffer
	e := newEngine(t, echoConfig(backend), Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	t.Cleanup(func() { // after the clients' cleanups close them
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		e.Shutdown(ctx)
	})
	addr := e.Addr("127.0.0.1:0").String()
	echo := func(c *net.TCPConn, r *bufio.Reader, line string) {
		t.Helper()
		io.WriteString(c, line+"\n")
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		expectLine(t, r, "echo "+line+"\n")
	}
	warm, warmR := dialTCP(t, addr) // whatever a first connection opens once
	echo(warm, warmR, "warm-up")
	warm.Close()
	waitFor(t, "the warm-up connection closed", func() bool { return backendStats(e, "e0").Active == 0 })

	// A served connection takes three descriptors: the client's here, and
	// the engine's two. Room for three of them and one more client socket
	// leaves the fourth connection waiting for the engine to accept it.
	const served = 3
	leaveFreeDescriptors(t, 3*served+1)
	var conns []*net.TCPConn
	for i := range served {
		c, r := dialTCP(t, addr)
		echo(c, r, fmt.Sprint(i))
		conns = append(conns, c)
	}
	waiting, waitingR := dialTCP(t, addr)
	waitFor(t, "the listener paused", func() bool { return strings.Contains(logs.String(), "accept failed") })
	for _, c := range conns {
		c.Close()
	}
	echo(waiting, waitingR, "accepted after the pause")
}

// leaveFreeDescriptors lowers the descriptor limit and takes every slot
// under it but n. The limit bounds descriptor numbers, not how many are
// open, so counting open descriptors cannot tell how many more fit: some
// may sit above the limit, and holes below it are reused first.
func leaveFreeDescriptors(t *testing.T, n int) {
	t.Helper()
	limit := uint64(openDescriptors(t) + n + 16)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: limit, Max: limit}); err != nil {
		t.Skip("cannot lower the descriptor limit:", err)
	}
	var fillers []int
	for {
		fd, err := syscall.Open("/dev/null", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err == syscall.EMFILE {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		fillers = append(fillers, fd)
	}
	if len(fillers) < n {
		t.Fatalf("only %d descriptors free under the limit, want %d", len(fillers), n)
	}
	for _, fd := range fillers[:n] {
		syscall.Close(fd)
	}
	t.Cleanup(func() {
		for _, fd := range fillers[n:] {
			syscall.Close(fd)
		}
	})
}

// lockedBuffer is a bytes.Buffer for a logger written from the loops.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

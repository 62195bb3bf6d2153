package eventloop

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tailscale-gateway/tailscale-gateway/internal/lb"
	"github.com/tailscale-gateway/tailscale-gateway/internal/proxyconfig"
)

// fakeEngine routes every listener to one service that balances over fixed
// backends, and counts what the loops report.
type fakeEngine struct {
	svc      *fakeService
	settings Settings
	carried  atomic.Int32 // Opened minus Closed
}

func newFakeEngine(t *testing.T, backends ...string) *fakeEngine {
	t.Helper()
	cfg := lb.Config{Strategy: proxyconfig.StrategyRoundRobin}
	for i, addr := range backends {
		cfg.Backends = append(cfg.Backends, lb.Backend{Name: fmt.Sprint("b", i), Address: addr, Weight: 1})
	}
	bal := lb.New(cfg, lb.Options{})
	for _, b := range cfg.Backends {
		bal.SetHealthy(b.Name, true)
	}
	t.Cleanup(bal.Close)
	return &fakeEngine{svc: &fakeService{bal: bal},
		settings: Settings{ConnectTimeout: time.Hour, IPBackends: true}}
}

func (e *fakeEngine) Route(string) (Service, Settings) { return e.svc, e.settings }
func (e *fakeEngine) HandOff(_ string, c net.Conn, _ uint32) {
	c.Close()
}
func (e *fakeEngine) Opened()          { e.carried.Add(1) }
func (e *fakeEngine) Closed()          { e.carried.Add(-1) }
func (e *fakeEngine) SpliceBulk() bool { return true }

type fakeService struct {
	bal                               *lb.Balancer
	failed, established, ended, unsrv atomic.Int32
}

func (s *fakeService) Name() string                           { return "test" }
func (s *fakeService) Pick(a *lb.Attempt) *lb.Member          { return s.bal.Pick(a) }
func (s *fakeService) Done(m *lb.Member)                      { s.bal.Done(m) }
func (s *fakeService) Counters(*lb.Member) Counters           { return nil }
func (s *fakeService) DialFailed(*lb.Member, Counters, error) { s.failed.Add(1) }
func (s *fakeService) Established(*lb.Member, Counters)       { s.established.Add(1) }
func (s *fakeService) Ended(Counters, int64, int64)           { s.ended.Add(1) }
func (s *fakeService) Unserved()                              { s.unsrv.Add(1) }

// startLoops runs n loops for e, serving one listener on loopback.
func startLoops(t *testing.T, e Engine, n int) (*Group, string) {
	t.Helper()
	g, err := New(e, Config{Loops: n})
	if err != nil {
		t.Fatal(err)
	}
	ll, err := g.Listen("127.0.0.1:0")
	if err != nil {
		g.Close()
		t.Fatal(err)
	}
	if err := g.Serve(ll); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		g.Unserve(ll)
		g.AbortAll()
		g.Close()
	})
	return g, ll.Addr().String()
}

// echoBackend answers each line with "echo " and the line.
func echoBackend(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					io.WriteString(c, "echo "+line)
				}
			}()
		}
	}()
	return ln.Addr().String()
}

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

func dialTCP(t *testing.T, addr string) (*net.TCPConn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn), bufio.NewReader(c)
}

func expectLine(t *testing.T, r *bufio.Reader, want string) {
	t.Helper()
	line, err := r.ReadString('\n')
	if err != nil || line != want {
		t.Fatalf("read %q, %v; want %q", line, err, want)
	}
}

// waitFor polls cond: what it waits for happens on the loops' threads.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

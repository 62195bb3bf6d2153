package termination

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The exchange between a test client and a test backend, through the proxy.
// The backend speaks first (greeting), so a client that reads the greeting
// knows the proxy took its connection on and reached a backend: that is how
// the test tells a connection the proxy accepted from one the kernel
// completed but the proxy never accepted (checkDrained, load_test.go).
//
//	backend → client  greeting
//	client → backend  "<kind> <id> <upload> <download>\n", then upload bytes
//	backend → client  frames: 4-byte length, payload (pattern of id)
//	                  then a 0-length frame, 8-byte total, sha256 of the upload
//	backend           closes
const greeting = 'G'

// Kinds of exchange.
const (
	// kindShort answers at once.
	kindShort = "short"
	// kindHeld answers once the backend's held gate opens: a request
	// certainly in flight when SIGTERM comes.
	kindHeld = "held"
	// kindLong streams a frame every longFrameEvery until the backend's
	// long gate opens, then ends: a stream the drain has to wait for.
	kindLong = "long"
)

const (
	longFrameSize  = 16 << 10
	longFrameEvery = 10 * time.Millisecond
	maxFrame       = 64 << 10
)

// patternByte is byte i of the stream identified by seed: misplaced,
// dropped or duplicated bytes do not match.
func patternByte(seed uint64, i int64) byte {
	x := uint64(i)*0x9E3779B97F4A7C15 + seed*0xBF58476D1CE4E5B9
	return byte(x >> 56)
}

func fillPattern(p []byte, seed uint64, offset int64) {
	for j := range p {
		p[j] = patternByte(seed, offset+int64(j))
	}
}

// Upload and download streams of one exchange differ.
func downloadSeed(id uint64) uint64 { return 2*id + 1 }
func uploadSeed(id uint64) uint64   { return 2 * id }

// backend is a loopback TCP server speaking the exchange above.
type backend struct {
	listeners []net.Listener
	// held and long open the gates of kindHeld and kindLong exchanges.
	held, long  *gate
	heldWaiting atomic.Int64 // kindHeld exchanges waiting at the gate
	// activeHandlers counts the connections being served: once the proxy
	// is gone, none may be left.
	activeHandlers atomic.Int64
}

// gate is closed once; exchanges waiting on it then go on.
type gate struct {
	once sync.Once
	ch   chan struct{}
}

func newGate() *gate                  { return &gate{ch: make(chan struct{})} }
func (g *gate) open()                 { g.once.Do(func() { close(g.ch) }) }
func (g *gate) wait() <-chan struct{} { return g.ch }

// startBackend listens on n loopback ports and serves until the test ends.
func startBackend(t *testing.T, n int) *backend {
	b := &backend{held: newGate(), long: newGate()}
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		b.listeners = append(b.listeners, ln)
		go b.serve(ln)
	}
	t.Cleanup(func() {
		b.held.open()
		b.long.open()
		for _, ln := range b.listeners {
			ln.Close()
		}
	})
	return b
}

func (b *backend) ports() []int {
	var ports []int
	for _, ln := range b.listeners {
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

func (b *backend) serve(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		b.activeHandlers.Add(1)
		go func() {
			defer b.activeHandlers.Add(-1)
			defer c.Close()
			// A bound, so that a proxy that leaves a connection half open
			// cannot hold the test: it shows as a handler that ended late.
			c.SetDeadline(time.Now().Add(2 * time.Minute))
			b.exchange(c)
		}()
	}
}

// exchange serves one connection; any error just ends it (the client
// reports what it missed).
func (b *backend) exchange(c net.Conn) {
	if _, err := c.Write([]byte{greeting}); err != nil {
		return
	}
	r := bufio.NewReader(c)
	var kind string
	var id uint64
	var upload, download int64
	if _, err := fmt.Fscanf(r, "%s %d %d %d\n", &kind, &id, &upload, &download); err != nil {
		return
	}
	sum := sha256.New()
	if _, err := io.CopyN(sum, r, upload); err != nil {
		return
	}
	w := bufio.NewWriterSize(c, 64<<10)
	var sent int64
	frame := func(n int64) error {
		buf := make([]byte, 4+n)
		binary.BigEndian.PutUint32(buf, uint32(n))
		fillPattern(buf[4:], downloadSeed(id), sent)
		sent += n
		_, err := w.Write(buf)
		return err
	}
	switch kind {
	case kindHeld:
		b.heldWaiting.Add(1)
		<-b.held.wait()
		b.heldWaiting.Add(-1)
		fallthrough
	case kindShort:
		for sent < download {
			if err := frame(min(download-sent, maxFrame)); err != nil {
				return
			}
		}
	case kindLong:
		tick := time.NewTicker(longFrameEvery)
		defer tick.Stop()
	stream:
		for {
			if err := frame(longFrameSize); err != nil {
				return
			}
			if err := w.Flush(); err != nil {
				return
			}
			select {
			case <-tick.C:
			case <-b.long.wait():
				break stream
			}
		}
	default:
		return
	}
	var end [4 + 8]byte
	binary.BigEndian.PutUint64(end[4:], uint64(sent))
	w.Write(end[:])
	w.Write(sum.Sum(nil))
	w.Flush()
}

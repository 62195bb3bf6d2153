package proxy

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// pipe copies bytes both ways between a client and a backend until both
// directions have ended, then closes both connections. It returns the bytes
// copied client→backend and backend→client.
//
// End of input in one direction is passed on as a half-close (CloseWrite), so
// protocols that shut down their sending side keep working. Between two
// *net.TCPConn, small messages are copied with read(2)/write(2) through a
// pooled buffer that is held only while data is in flight, and a direction
// that fills the buffer (a bulk transfer) switches to splice(2) for the rest
// of the stream; see copyTCP.
//
// Idle timeout: each direction reads under a deadline. When a direction has
// seen no data for the idle timeout it "pokes" the other (expires its read
// deadline) so that the other reports its own progress at once; the
// connection closes only when both agree that neither carried data for the
// timeout. An idle connection is thus closed within one to two idle timeouts,
// without a timer per connection and without giving up splice.
//
// h, if not nil, is what the buffering phase of a hop connection (serveHop)
// leaves over: bytes each direction writes before copying, and whether the
// client's input already ended.
func pipe(client, backend net.Conn, idle time.Duration, h *handoff) (up, down int64) {
	p := &pipeState{conns: [2]net.Conn{client, backend}, idle: idle, handoff: h}
	now := time.Now().UnixNano()
	p.lastActive[0].Store(now)
	p.lastActive[1].Store(now)
	done := make(chan struct{})
	workers.run(func() {
		defer close(done)
		up = p.copy(0)
	})
	down = p.copy(1)
	<-done
	client.Close()
	backend.Close()
	return up, down
}

type pipeState struct {
	conns [2]net.Conn // direction d copies conns[d] → conns[1-d]
	idle  time.Duration

	lastActive [2]atomic.Int64 // unix nanos of the last read that returned data
	idleClaim  [2]atomic.Bool  // direction saw no data for a full idle timeout
	poked      [2]atomic.Bool  // the other direction asked for a progress report
	done       [2]atomic.Bool  // direction reached end of input
	closed     atomic.Bool     // closeBoth ran; not a sync.Once, which would push pipeState out of the 96-byte size class
	handoff    *handoff        // nil unless the connection went through serveHop
}

// handoff is the state a hop connection's buffering phase hands to pipe.
type handoff struct {
	// prefix[d] is written to direction d's destination before copying:
	// client bytes read but not yet sent to the backend (d=0), and the
	// backend's first bytes (d=1). bufs[d], if set, is the pooled buffer
	// under prefix[d], released once it is written.
	prefix [2][]byte
	bufs   [2]*[]byte
	// clientEnded: the client's input ended during the buffering phase;
	// backendShut: and the backend was half-closed already.
	clientEnded, backendShut bool
	// sent counts the client bytes the backend got before pipe.
	sent int64
}

// start writes direction d's prefix. It returns the bytes written and
// whether the direction goes on copying; if not, the direction has ended
// (end of input already seen, or an error that closed both conns).
func (p *pipeState) start(d int) (int64, bool) {
	h := p.handoff
	var n int
	var err error
	if len(h.prefix[d]) > 0 {
		n, err = p.conns[1-d].Write(h.prefix[d])
	}
	if h.bufs[d] != nil {
		copyBuffers.Put(h.bufs[d])
	}
	if err != nil {
		p.closeBoth()
		return int64(n), false
	}
	if d == 0 && h.clientEnded {
		p.done[0].Store(true)
		if !h.backendShut && !p.done[1].Load() {
			closeWrite(p.conns[1])
		}
		return int64(n), false
	}
	return int64(n), true
}

func (p *pipeState) copy(d int) int64 {
	src, dst := p.conns[d], p.conns[1-d]
	var total int64
	if p.handoff != nil {
		n, more := p.start(d)
		if !more {
			return n
		}
		total = n
	}
	for {
		p.armDeadline(d)
		n, err := copyOnce(dst, src)
		total += n
		switch {
		case err == nil: // end of input: half-close and let the other direction finish
			// Also when the other direction already ended and pipe is
			// about to close both conns: close(2) would send the same FIN,
			// but closeWrite sends it from a raw shutdown(2) (see
			// rawSyscall), which profiles showed to be cheaper overall than
			// saving the call.
			p.done[d].Store(true)
			closeWrite(dst)
			return total
		case !errors.Is(err, os.ErrDeadlineExceeded):
			p.closeBoth()
			return total
		case p.idleTimedOut(d, n):
			p.closeBoth()
			return total
		}
	}
}

func (p *pipeState) armDeadline(d int) {
	if p.idle <= 0 {
		return
	}
	src := p.conns[d]
	src.SetReadDeadline(time.Now().Add(p.idle))
	// A poke that landed just before the line above was overwritten by it.
	if p.poked[d].Load() {
		src.SetReadDeadline(time.Now())
	}
}

// idleTimedOut handles a read deadline in direction d after n bytes and
// reports whether the whole connection is idle.
func (p *pipeState) idleTimedOut(d int, n int64) bool {
	now := time.Now()
	if n > 0 {
		p.lastActive[d].Store(now.UnixNano())
		p.idleClaim[d].Store(false)
	}
	poked := p.poked[d].Swap(false)
	if now.Sub(time.Unix(0, p.lastActive[d].Load())) < p.idle {
		return false
	}
	p.idleClaim[d].Store(true)
	peer := 1 - d
	if p.done[peer].Load() || (poked && p.idleClaim[peer].Load()) {
		return true
	}
	if !poked {
		p.poked[peer].Store(true)
		p.conns[peer].SetReadDeadline(now)
	}
	return false
}

func (p *pipeState) closeBoth() {
	if p.closed.CompareAndSwap(false, true) {
		p.conns[0].Close()
		p.conns[1].Close()
	}
}

// copyBufferSize is the read size of the copy loops. A read that fills it
// marks a bulk transfer, which copyTCP hands to splice.
const copyBufferSize = 16 << 10

var copyBuffers = sync.Pool{New: func() any { b := make([]byte, copyBufferSize); return &b }}

// copyOnce copies until EOF (nil error) or an error. Between TCP conns it
// uses copyTCP; other conns (tsnet) share pooled buffers instead of
// allocating 32 KiB per connection.
func copyOnce(dst, src net.Conn) (int64, error) {
	if s, ok := src.(*net.TCPConn); ok {
		if d, ok := dst.(*net.TCPConn); ok {
			return copyTCP(d, s)
		}
	}
	buf := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(buf)
	return io.CopyBuffer(struct{ io.Writer }{dst}, struct{ io.Reader }{src}, *buf)
}

// noSpliceBulk lets tests and benchmarks turn the switch to splice off.
var noSpliceBulk atomic.Bool

// copyTCP copies between TCP conns until EOF (nil error) or an error.
//
// Request/response traffic is a stream of small messages, for which
// splice(2) costs more than it saves: two splice calls through a pipe per
// message, a pipe (two descriptors) held per direction for the whole
// connection. So messages are read with read(2) into a pooled buffer taken
// only once the socket is readable and returned after the write: an idle
// connection holds no buffer. When a read fills the buffer, the stream is a
// bulk transfer and the rest of it is spliced, which avoids copying through
// user space.
//
// The reads and writes are raw system calls (see rawSyscall): both sockets
// are non-blocking, so neither call can block.
func copyTCP(dst, src *net.TCPConn) (int64, error) {
	rc, err := src.SyscallConn()
	if err != nil {
		return 0, err
	}
	wc, err := dst.SyscallConn()
	if err != nil {
		return 0, err
	}
	r := rawReader{}
	read := r.read // one closure per call, not per message
	w := rawWriter{}
	write := w.write
	var total int64
	for {
		r.n, r.err = 0, nil
		if err := rc.Read(read); err != nil {
			r.release()
			return total, err
		}
		if r.n == 0 && r.err == nil {
			r.release()
			return total, nil // end of input
		}
		if r.err != nil {
			r.release()
			return total, os.NewSyscallError("read", r.err)
		}
		full := r.n == len(*r.buf)
		w.p, w.n, w.err = (*r.buf)[:r.n], 0, nil
		err := wc.Write(write)
		total += int64(w.n)
		w.p = nil
		r.release()
		if err == nil && w.err != nil {
			err = os.NewSyscallError("write", w.err)
		}
		if err != nil {
			return total, err
		}
		if full && !noSpliceBulk.Load() {
			n, err := io.Copy(dst, src) // TCPConn.ReadFrom: splice
			return total + n, err
		}
	}
}

// rawSyscall makes a system call without telling the Go scheduler, as
// syscall.Syscall does. On a non-blocking socket read(2) and write(2) return
// at once, but on loopback a write also runs the receiver's TCP processing
// and can take tens of microseconds. A P in a (announced) system call that
// long is handed to another thread by sysmon, which then wakes every 20 µs:
// measured under wrk, that scheduler churn cost more CPU than the copying.
// Only for calls that cannot block.
func rawSyscall(trap, fd uintptr, p []byte) (int, syscall.Errno) {
	if len(p) == 0 {
		return 0, 0
	}
	n, _, errno := syscall.RawSyscall(trap, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	return int(n), errno
}

// rawReader is the read(2) callback of copyTCP.
type rawReader struct {
	buf *[]byte
	n   int
	err error
}

// read reads once the socket is readable; false asks the poller to wait.
func (r *rawReader) read(fd uintptr) bool {
	if r.buf == nil {
		r.buf = copyBuffers.Get().(*[]byte)
	}
	for {
		n, errno := rawSyscall(syscall.SYS_READ, fd, *r.buf)
		switch errno {
		case 0:
			r.n = n
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			r.release() // do not hold a buffer while waiting
			return false
		default:
			r.err = errno
			return true
		}
	}
}

func (r *rawReader) release() {
	if r.buf != nil {
		copyBuffers.Put(r.buf)
		r.buf = nil
	}
}

// rawWriter is the write(2) callback of copyTCP: it writes all of p,
// waiting for the socket to be writable when its buffer is full.
type rawWriter struct {
	p   []byte
	n   int
	err error
}

func (w *rawWriter) write(fd uintptr) bool {
	for w.n < len(w.p) {
		n, errno := rawSyscall(syscall.SYS_WRITE, fd, w.p[w.n:])
		switch errno {
		case 0:
			w.n += n
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false
		default:
			w.err = errno
			return true
		}
	}
	return true
}

// closeWrite half-closes conns that support it and fully closes others,
// which is the only way to signal end of input to them.
func closeWrite(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		if rc, err := tc.SyscallConn(); err == nil {
			// shutdown(2) sends the FIN, which on loopback the peer
			// processes inside this call; raw for the reason in rawSyscall.
			rc.Control(func(fd uintptr) { syscall.RawSyscall(syscall.SYS_SHUTDOWN, fd, syscall.SHUT_WR, 0) })
			return
		}
	}
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
		return
	}
	c.Close()
}

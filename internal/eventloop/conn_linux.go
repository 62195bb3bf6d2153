package eventloop

import (
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tailscale-gateway/tailscale-gateway/internal/lb"
)

// loopConn is one client connection carried by a loop: the dial (with
// retries on other backends, as internal/proxy's dialBackend), then the
// relay of both directions with half-close, as its pipe does for
// goroutines.
//
// Sockets are edge-triggered: an event says that something changed, and the
// relay must then take everything there is. A read shorter than the buffer
// drained the socket (data that arrives later brings a new event), so the
// relay stops there, saving the read that would return EAGAIN, unless the
// peer shut down: then the end of input is still to be read. Events the
// relay does not act on at once (while dialing, or while the destination is
// full) still record a shutdown (direction.hup).
type loopConn struct {
	lp       *loop
	index    int    // in lp.conns
	fds      [2]int // client, backend; -1 when none
	svc      Service
	settings Settings
	attempt  lb.Attempt
	m        *lb.Member // the backend dialed or connected; nil before and after
	cnt      Counters

	connecting bool
	closed     bool
	deadline   time.Duration // of the connect in progress, on the loop's clock
	started    time.Duration // accepted, on the loop's clock
	lastActive time.Duration // last read that returned data
	dirs       [2]direction  // 0: client → backend, 1: backend → client
}

// direction is one way of a relay: from fds[d] to fds[1-d].
type direction struct {
	pending []byte  // read, not yet written: the destination was full
	buf     *[]byte // pooled buffer under pending
	pipe    spliceBuf
	inPipe  int  // bytes spliced into pipe, not yet out of it
	eof     bool // end of input read
	shut    bool // and passed on: the destination was shut down for writing
	hup     bool // the source's peer shut down or failed: read to the end
	bytes   int64
}

func (d *direction) blocked() bool { return len(d.pending) > 0 || d.inPipe > 0 }

// readSize is the size of a loop's reads, as in internal/proxy's copy
// loops: a read that fills it marks a bulk transfer, which goes on through
// splice.
const readSize = 16 << 10

// pendingBuffers hold what a destination could not take yet.
var pendingBuffers = sync.Pool{New: func() any { b := make([]byte, readSize); return &b }}

func (lp *loop) newConn(svc Service, settings Settings, fd int) *loopConn {
	var c *loopConn
	if n := len(lp.freeConns); n > 0 {
		c = lp.freeConns[n-1]
		lp.freeConns = lp.freeConns[:n-1]
		*c = loopConn{}
	} else {
		c = &loopConn{}
	}
	c.lp, c.svc, c.settings = lp, svc, settings
	c.fds = [2]int{fd, -1}
	c.lastActive, c.started = lp.now, lp.now
	c.index = len(lp.conns)
	lp.conns = append(lp.conns, c)
	lp.load.Add(1)
	return c
}

func (lp *loop) release(c *loopConn) {
	last := len(lp.conns) - 1
	if c.index <= last && lp.conns[c.index] == c {
		lp.conns[c.index] = lp.conns[last]
		lp.conns[c.index].index = c.index
		lp.conns[last] = nil
		lp.conns = lp.conns[:last]
		lp.load.Add(-1)
	}
	if len(lp.freeConns) < maxFreeConns {
		lp.freeConns = append(lp.freeConns, c)
	}
}

// maxFreeConns bounds the connection records a loop keeps for reuse.
const maxFreeConns = 1024

// dial picks backends until a connect starts; the outcome comes as an
// event on the backend socket (or the connect timeout, see checkTimeouts).
func (c *loopConn) dial() {
	for {
		m := c.svc.Pick(&c.attempt)
		if m == nil {
			c.unserved()
			return
		}
		ap, ok := IPLiteral(m.Backend().Address)
		if !ok { // a reload turned the address into a name since accept
			c.svc.Done(m)
			continue
		}
		cnt := c.svc.Counters(m)
		fd, sockErr, connErr := connectSocket(ap)
		if sockErr != 0 { // out of descriptors: not the backend's fault
			c.svc.Done(m)
			c.lp.log.Warn("cannot open a backend socket", "service", c.svc.Name(),
				"error", os.NewSyscallError("socket", sockErr))
			c.unserved()
			return
		}
		if connErr != 0 {
			c.dialFailed(m, cnt, connErr)
			continue
		}
		if errno := c.lp.register(fd, connEvents, fdEntry{conn: c, side: 1}); errno != 0 {
			closeFD(fd)
			c.svc.Done(m)
			c.unserved()
			return
		}
		c.fds[1], c.m, c.cnt = fd, m, cnt
		c.connecting = true
		c.deadline = c.lp.now + c.settings.ConnectTimeout
		c.sendEarly()
		return
	}
}

// sendEarly sends the client's first bytes to the backend before the
// connect's completion event comes. On loopback and other local paths
// connect(2) completes the handshake before it returns, and the event
// would only come after the rest of the loop's batch, which under load
// was a large part of a connection's latency. A send that works proves
// the connection established; EAGAIN means the handshake is still under
// way (the bytes wait as pending); an error is the connect's failure.
func (c *loopConn) sendEarly() {
	dir := &c.dirs[0]
	drained := false // the client has nothing more now (a short read)
	if !dir.blocked() && !dir.eof {
		n, errno := readFD(c.fds[0], c.lp.scratch)
		switch {
		case errno == unix.EAGAIN || errno == unix.EINTR:
			return // nothing yet: events will tell
		case errno != 0:
			c.close()
			return
		case n == 0:
			dir.eof = true // passed on once connected
			return
		}
		c.lastActive = c.lp.now
		drained = n < len(c.lp.scratch) && !dir.hup
		dir.buf = pendingBuffers.Get().(*[]byte)
		dir.pending = append((*dir.buf)[:0], c.lp.scratch[:n]...)
	}
	if !dir.blocked() {
		return
	}
	n, errno := sendFD(c.fds[1], dir.pending)
	switch errno {
	case 0:
		dir.pending = dir.pending[n:]
		dir.bytes += int64(n)
		if len(dir.pending) == 0 {
			pendingBuffers.Put(dir.buf)
			dir.buf, dir.pending = nil, nil
		}
		c.established()
		if dir.blocked() || !drained {
			c.pump(0)
		}
	case unix.EAGAIN, unix.EINTR:
	default:
		c.connectFailed(errno)
	}
}

func (c *loopConn) dialFailed(m *lb.Member, cnt Counters, errno unix.Errno) {
	c.svc.Done(m)
	err := os.NewSyscallError("connect", errno)
	c.svc.DialFailed(m, cnt, err)
	c.lp.log.Debug("dial failed; trying another backend", "service", c.svc.Name(),
		"backend", m.Name(), "error", err)
}

// connectFailed ends the connect in progress and dials another backend.
func (c *loopConn) connectFailed(errno unix.Errno) {
	c.lp.forget(c.fds[1])
	closeFD(c.fds[1])
	c.fds[1] = -1
	c.connecting = false
	m := c.m
	c.m = nil
	c.dialFailed(m, c.cnt, errno)
	c.dial()
}

// established records that the backend connection is up.
func (c *loopConn) established() {
	c.connecting = false
	c.svc.Established(c.m, c.cnt)
	c.lastActive = c.lp.now
}

// unserved refuses the client, as internal/proxy's Engine.unserved does.
func (c *loopConn) unserved() {
	c.svc.Unserved()
	client := "unknown"
	if sa, err := unix.Getpeername(c.fds[0]); err == nil {
		client = sockaddrToTCP(sa).String()
	}
	c.lp.log.Warn("no backend could be dialed; closing client connection",
		"service", c.svc.Name(), "client", client)
	c.lp.forget(c.fds[0])
	resetAndClose(c.fds[0])
	c.fds[0] = -1
	c.close()
}

// handle processes the events of one of the connection's sockets.
func (c *loopConn) handle(side int, events uint32) {
	if c.connecting {
		if !c.handleConnecting(side, events) {
			return
		}
	}
	if events&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		c.dirs[side].hup = true
	}
	if events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		c.pump(side)
	}
	if !c.closed && events&unix.EPOLLOUT != 0 && c.dirs[1-side].blocked() {
		c.pump(1 - side)
	}
}

// handleConnecting handles events while the backend connect is in
// progress; true if the connect just completed and the events are for the
// relay too.
func (c *loopConn) handleConnecting(side int, events uint32) bool {
	if side == 0 {
		if events&unix.EPOLLERR != 0 {
			c.close() // the client is gone
		} else if events&(unix.EPOLLRDHUP|unix.EPOLLHUP) != 0 {
			c.dirs[0].hup = true
		}
		return false // the client's data waits for the backend
	}
	if events&(unix.EPOLLERR|unix.EPOLLHUP) != 0 {
		errno := socketError(c.fds[1])
		if errno == 0 {
			errno = unix.ECONNREFUSED
		}
		c.connectFailed(errno)
		return false
	}
	if events&unix.EPOLLOUT == 0 {
		return false
	}
	c.established()
	c.pump(0) // what the client sent while the backend was dialed
	return !c.closed
}

// pump moves what direction d can move now.
func (c *loopConn) pump(d int) {
	dir := &c.dirs[d]
	if dir.blocked() && !c.flush(d) {
		return
	}
	if dir.eof {
		if !dir.shut { // input ended before the backend was connected
			c.passEOF(d)
		}
		return
	}
	if dir.pipe.ok() {
		c.splicePump(d)
		return
	}
	buf := c.lp.scratch
	for {
		n, errno := readFD(c.fds[d], buf)
		if got := c.took(d, n, errno); got != gotData {
			if got == tryAgain {
				continue
			}
			return
		}
		if !c.write(d, buf[:n]) {
			return
		}
		if n == len(buf) && c.lp.group.e.SpliceBulk() && c.startSplice(d) {
			c.splicePump(d) // a bulk transfer: see internal/proxy's copyTCP
			return
		}
		if n < len(buf) && !dir.hup {
			return
		}
	}
}

// readResult is what a read (or splice) from a direction's source brought.
type readResult int

const (
	gotData  readResult = iota // n bytes: pass them on
	tryAgain                   // interrupted
	stop                       // nothing now, end of input or an error: handled
)

// took handles the outcome of a read or splice from direction d's source:
// end of input is passed on, an error ends the connection, and data
// counts as activity.
func (c *loopConn) took(d, n int, errno unix.Errno) readResult {
	switch {
	case errno == unix.EAGAIN:
		return stop
	case errno == unix.EINTR:
		return tryAgain
	case errno != 0:
		c.close()
		return stop
	case n == 0:
		c.endOfInput(d)
		return stop
	}
	c.lastActive = c.lp.now
	return gotData
}

// write sends p to direction d's destination; false if it could not all
// go (the rest is pending) or the connection failed.
func (c *loopConn) write(d int, p []byte) bool {
	dir := &c.dirs[d]
	for off := 0; off < len(p); {
		n, errno := sendFD(c.fds[1-d], p[off:])
		switch errno {
		case 0:
			off += n
			dir.bytes += int64(n)
		case unix.EINTR:
		case unix.EAGAIN:
			if dir.buf == nil {
				dir.buf = pendingBuffers.Get().(*[]byte)
			}
			dir.pending = append((*dir.buf)[:0], p[off:]...)
			return false
		default:
			c.close()
			return false
		}
	}
	return true
}

// flush writes direction d's pending bytes; true once none are left and
// the connection is still open.
func (c *loopConn) flush(d int) bool {
	dir := &c.dirs[d]
	if dir.inPipe > 0 {
		return c.drainPipe(d)
	}
	p := dir.pending
	dir.pending = nil
	if !c.write(d, p) {
		return false
	}
	pendingBuffers.Put(dir.buf)
	dir.buf = nil
	if dir.eof {
		c.passEOF(d)
		return false
	}
	return true
}

func (c *loopConn) endOfInput(d int) {
	c.dirs[d].eof = true
	if !c.dirs[d].blocked() {
		c.passEOF(d)
	}
}

// passEOF half-closes direction d's destination, or ends the connection
// if the other direction is done too: then close(2) sends the FIN.
func (c *loopConn) passEOF(d int) {
	c.dirs[d].shut = true
	if c.dirs[1-d].shut {
		c.close()
		return
	}
	shutdownWrite(c.fds[1-d])
}

// checkTimeouts runs at each sweep: connect timeout, then idle timeout.
func (c *loopConn) checkTimeouts() {
	if c.connecting {
		if c.lp.now >= c.deadline {
			c.connectFailed(unix.ETIMEDOUT)
		}
		return
	}
	if idle := c.settings.IdleTimeout; idle > 0 && c.lp.now-c.lastActive >= idle {
		c.close()
	}
}

// close ends the connection, at its end or at once (an error, a timeout,
// a hard stop): it closes both sockets, settles the counters and frees c.
func (c *loopConn) close() {
	if c.closed {
		return
	}
	c.closed = true
	for i, fd := range c.fds {
		if fd >= 0 {
			c.lp.forget(fd)
			closeFD(fd)
			c.fds[i] = -1
		}
	}
	for d := range c.dirs {
		c.releaseBuffers(d)
	}
	if c.m != nil {
		if !c.connecting {
			c.svc.Ended(c.cnt, c.dirs[0].bytes, c.dirs[1].bytes)
		}
		c.svc.Done(c.m)
		c.m = nil
	}
	c.lp.group.e.Closed()
	c.lp.release(c)
}

func (c *loopConn) releaseBuffers(d int) {
	dir := &c.dirs[d]
	if dir.buf != nil {
		pendingBuffers.Put(dir.buf)
		dir.buf, dir.pending = nil, nil
	}
	if dir.pipe.ok() {
		if dir.inPipe == 0 && len(c.lp.pipes) < maxKeptPipes {
			c.lp.pipes = append(c.lp.pipes, dir.pipe)
		} else {
			dir.pipe.close()
		}
		dir.pipe = spliceBuf{}
	}
}

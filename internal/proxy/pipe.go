package proxy

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// pipe copies bytes both ways between a client and a backend until both
// directions have ended, then closes both connections. It returns the bytes
// copied client→backend and backend→client.
//
// End of input in one direction is passed on as a half-close (CloseWrite), so
// protocols that shut down their sending side keep working. Between two
// *net.TCPConn, io.Copy uses splice(2) on Linux: the conns are never wrapped.
//
// Idle timeout: each direction reads under a deadline. When a direction has
// seen no data for the idle timeout it "pokes" the other (expires its read
// deadline) so that the other reports its own progress at once; the
// connection closes only when both agree that neither carried data for the
// timeout. An idle connection is thus closed within one to two idle timeouts,
// without a timer per connection and without giving up splice.
func pipe(client, backend net.Conn, idle time.Duration) (up, down int64) {
	p := &pipeState{conns: [2]net.Conn{client, backend}, idle: idle}
	now := time.Now().UnixNano()
	p.lastActive[0].Store(now)
	p.lastActive[1].Store(now)
	done := make(chan struct{})
	go func() {
		defer close(done)
		up = p.copy(0)
	}()
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
	closeOnce  sync.Once
}

func (p *pipeState) copy(d int) int64 {
	src, dst := p.conns[d], p.conns[1-d]
	var total int64
	for {
		p.armDeadline(d)
		n, err := copyOnce(dst, src)
		total += n
		switch {
		case err == nil: // end of input: half-close and let the other direction finish
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
	p.closeOnce.Do(func() {
		p.conns[0].Close()
		p.conns[1].Close()
	})
}

var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// copyOnce copies until EOF (nil error) or an error. Between TCP conns it
// lets io.Copy reach TCPConn.ReadFrom, which splices; other conns (tsnet)
// share pooled buffers instead of allocating 32 KiB per connection.
func copyOnce(dst, src net.Conn) (int64, error) {
	if _, ok := src.(*net.TCPConn); ok {
		if _, ok := dst.(*net.TCPConn); ok {
			return io.Copy(dst, src)
		}
	}
	buf := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(buf)
	return io.CopyBuffer(struct{ io.Writer }{dst}, struct{ io.Reader }{src}, *buf)
}

// closeWrite half-closes conns that support it and fully closes others,
// which is the only way to signal end of input to them.
func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
		return
	}
	c.Close()
}

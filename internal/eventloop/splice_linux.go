package eventloop

import "golang.org/x/sys/unix"

// Bulk transfers in an event loop go through splice(2), socket to pipe to
// socket, without copying through user space; see internal/proxy's copyTCP
// for when.

// spliceBuf is a pipe used as splice's kernel buffer. The zero value is
// no pipe.
type spliceBuf struct{ r, w int }

// maxKeptPipes bounds the empty pipes a loop keeps for reuse.
const maxKeptPipes = 64

// spliceChunk is the most one splice moves: a default pipe's capacity.
const spliceChunk = 64 << 10

func (p spliceBuf) ok() bool { return p.w > 0 }

func (p spliceBuf) close() {
	closeFD(p.r)
	closeFD(p.w)
}

// startSplice gives direction d a pipe; false if none could be had (out of
// descriptors), in which case the direction goes on with read and write.
func (c *loopConn) startSplice(d int) bool {
	lp := c.lp
	if n := len(lp.pipes); n > 0 {
		c.dirs[d].pipe = lp.pipes[n-1]
		lp.pipes = lp.pipes[:n-1]
		return true
	}
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		return false
	}
	c.dirs[d].pipe = spliceBuf{r: fds[0], w: fds[1]}
	return true
}

// splicePump splices direction d until its source has nothing more to
// give now, its destination is full, or its input ended.
func (c *loopConn) splicePump(d int) {
	dir := &c.dirs[d]
	for {
		if dir.inPipe > 0 && !c.drainPipe(d) {
			return
		}
		n, errno := spliceFD(c.fds[d], dir.pipe.w, spliceChunk)
		if got := c.took(d, n, errno); got != gotData {
			if got == tryAgain {
				continue
			}
			return
		}
		dir.inPipe = n
	}
}

// drainPipe splices direction d's pipe into its destination; true once
// the pipe is empty and the connection still open.
func (c *loopConn) drainPipe(d int) bool {
	dir := &c.dirs[d]
	for dir.inPipe > 0 {
		n, errno := spliceFD(dir.pipe.r, c.fds[1-d], dir.inPipe)
		switch errno {
		case 0:
			dir.inPipe -= n
			dir.bytes += int64(n)
		case unix.EINTR:
		case unix.EAGAIN:
			return false
		default:
			c.close()
			return false
		}
	}
	if dir.eof {
		c.passEOF(d)
		return false
	}
	return true
}

package eventloop

import (
	"log/slog"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// loop is one event loop: an epoll set, the connections it carries and a
// command queue woken through an eventfd.
type loop struct {
	group     *Group
	log       *slog.Logger
	load      atomic.Int32 // connections carried; read by other loops
	longLived atomic.Bool  // one of them is older than settleAge, at the last sweep
	epfd      int
	wakefd    int

	mu       sync.Mutex // guards cmds and stopped
	cmds     []func()
	stopped  bool
	finished chan struct{}

	// Owned by the loop goroutine.
	fds       []fdEntry // by descriptor number
	gen       uint32    // registration generation; see fdEntry
	conns     []*loopConn
	freeConns []*loopConn
	pipes     []spliceBuf // empty pipes kept for reuse
	listeners []*Listener
	paused    []pausedListener
	scratch   []byte
	events    []unix.EpollEvent
	epoch     time.Time
	now       time.Duration // since epoch, read once per wake-up
	nextSweep time.Duration
	lastYield time.Duration // see yieldDue
	exit      bool          // a stop command ran
	handoffs  uint32        // connections handed to goroutines: HandOff's seq
}

// fdEntry says what a descriptor registered in the loop's epoll set is.
// gen tells a stale event (for a descriptor closed and reused within one
// batch of events) from a current one: epoll hands back the gen stored at
// registration.
type fdEntry struct {
	gen  uint32
	conn *loopConn
	side int // 0: client, 1: backend
	ln   *Listener
}

type pausedListener struct {
	ll    *Listener
	until time.Duration
}

const (
	loopEvents    = 256
	acceptBatch   = 64
	sweepInterval = 50 * time.Millisecond
	// Event masks: connections are edge-triggered and registered once for
	// everything; listeners are level-triggered.
	connEvents     = unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET
	listenerEvents = unix.EPOLLIN
)

func newLoop(g *Group) (*loop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	wakefd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, os.NewSyscallError("eventfd", err)
	}
	lp := &loop{group: g, log: g.cfg.Logger, epfd: epfd, wakefd: wakefd, finished: make(chan struct{}),
		scratch: make([]byte, readSize), events: make([]unix.EpollEvent, loopEvents), epoch: time.Now()}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wakefd)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wakefd, &ev); err != nil {
		unix.Close(wakefd)
		unix.Close(epfd)
		return nil, os.NewSyscallError("epoll_ctl", err)
	}
	return lp, nil
}

// discard frees a loop that never ran.
func (lp *loop) discard() {
	unix.Close(lp.wakefd)
	unix.Close(lp.epfd)
}

// post queues f to run on the loop's goroutine. After stop, f runs at
// once on the caller's goroutine, with no connections left to touch.
func (lp *loop) post(f func()) {
	lp.mu.Lock()
	if lp.stopped {
		lp.mu.Unlock()
		f()
		return
	}
	defer lp.mu.Unlock()
	lp.cmds = append(lp.cmds, f)
	if len(lp.cmds) > 1 {
		return // the first command's wake-up is still to come
	}
	one := [8]byte{1}
	unix.Write(lp.wakefd, one[:]) // under mu: shutdown closes wakefd under it
}

func (lp *loop) stop() {
	lp.post(func() {
		lp.mu.Lock()
		lp.stopped = true
		lp.mu.Unlock()
	})
	<-lp.finished
}

// run serves events until a stop command, blocking its thread in
// epoll_wait as HAProxy's threads do: the kernel wakes the loop itself.
// Waiting in Go's poller instead (an epoll set is itself pollable) woke a
// loop through the runtime, with one more epoll_wait and often a hand-off
// between threads, and left the proxy's p99 8-18 % above HAProxy's
// (bench/HISTORY.md). A thread blocked in a system call keeps its P only
// while some other P is idle; otherwise sysmon takes the P away at every
// tick (7 % of the proxy's CPU when tried with no P to spare), so the
// standalone proxy runs one P more than it has loops (proxy.Options.EventLoops).
// The loop is not locked to its thread: it rarely leaves it, and yielding
// (below) costs a hand-off between threads when locked.
func (lp *loop) run() {
	defer lp.shutdown()
	for !lp.exit {
		n, err := unix.EpollWait(lp.epfd, lp.events, lp.waitTimeout())
		if err != nil && err != unix.EINTR {
			lp.log.Error("event loop failed", "error", os.NewSyscallError("epoll_wait", err))
			return
		}
		lp.now = time.Since(lp.epoch)
		if lp.yieldDue() {
			runtime.Gosched()
		}
		for i := range n {
			if !lp.dispatch(&lp.events[i]) {
				lp.exit = true
				break
			}
		}
		if lp.now >= lp.nextSweep {
			lp.sweep()
		}
	}
}

// yieldInterval is how often a loop passes through Go's scheduler. A
// goroutine that has not for 10 ms is preempted by sysmon, which then also
// takes away its P if it sits in a system call and goes back to waking
// every 20 µs: without yielding, sysmon woke 1,600 times a second under
// load (110 with), and p99 rose 5-9 %.
const yieldInterval = 5 * time.Millisecond

// yieldDue says whether the loop should yield now, and if so notes that it
// did.
func (lp *loop) yieldDue() bool {
	if lp.now-lp.lastYield < yieldInterval {
		return false
	}
	lp.lastYield = lp.now
	return true
}

// waitTimeout is how long epoll_wait may block, in milliseconds: until the
// next sweep while anything has a deadline (connections, paused
// listeners), rounded up so that the sweep is due when the wait ends, and
// without limit otherwise.
func (lp *loop) waitTimeout() int {
	if len(lp.conns) == 0 && len(lp.paused) == 0 {
		return -1
	}
	wait := lp.nextSweep - lp.now
	if wait <= 0 {
		return 0
	}
	return int((wait + time.Millisecond - 1) / time.Millisecond)
}

// dispatch handles one event; false stops the loop.
func (lp *loop) dispatch(ev *unix.EpollEvent) bool {
	fd := int(ev.Fd)
	if fd == lp.wakefd {
		return lp.runCommands()
	}
	if fd >= len(lp.fds) || lp.fds[fd].gen != uint32(ev.Pad) {
		return true // stale: the descriptor was closed in this batch
	}
	ent := lp.fds[fd]
	switch {
	case ent.ln != nil:
		lp.accept(ent.ln)
	case ent.conn != nil:
		ent.conn.handle(ent.side, ev.Events)
	}
	return true
}

func (lp *loop) runCommands() bool {
	var buf [8]byte
	unix.Read(lp.wakefd, buf[:])
	lp.mu.Lock()
	cmds := lp.cmds
	lp.cmds = nil
	lp.mu.Unlock()
	for _, f := range cmds {
		f()
	}
	lp.mu.Lock()
	defer lp.mu.Unlock()
	return !lp.stopped
}

// register adds fd to the epoll set. The event carries fd and a fresh
// generation (see fdEntry).
func (lp *loop) register(fd int, events uint32, ent fdEntry) unix.Errno {
	if fd >= len(lp.fds) {
		lp.fds = append(lp.fds, make([]fdEntry, fd+1-len(lp.fds)+64)...)
	}
	lp.gen++
	ent.gen = lp.gen
	lp.fds[fd] = ent
	ev := unix.EpollEvent{Events: events, Fd: int32(fd), Pad: int32(ent.gen)}
	_, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_CTL, uintptr(lp.epfd), unix.EPOLL_CTL_ADD, uintptr(fd),
		uintptr(unsafe.Pointer(&ev)), 0, 0)
	if errno != 0 {
		lp.fds[fd] = fdEntry{}
	}
	return errno
}

// forget drops fd's entry; closing fd removes it from the epoll set.
func (lp *loop) forget(fd int) { lp.fds[fd] = fdEntry{} }

func (lp *loop) addListener(ll *Listener) error {
	if errno := lp.register(ll.fd, listenerEvents, fdEntry{ln: ll}); errno != 0 {
		return os.NewSyscallError("epoll_ctl", errno)
	}
	lp.listeners = append(lp.listeners, ll)
	return nil
}

func (lp *loop) removeListener(ll *Listener) {
	for i, p := range lp.paused {
		if p.ll == ll {
			lp.paused = append(lp.paused[:i], lp.paused[i+1:]...)
			break
		}
	}
	for i, l := range lp.listeners {
		if l == ll {
			lp.listeners = append(lp.listeners[:i], lp.listeners[i+1:]...)
			unix.EpollCtl(lp.epfd, unix.EPOLL_CTL_DEL, ll.fd, nil)
			lp.forget(ll.fd)
			break
		}
	}
}

// accept takes up to acceptBatch waiting connections, then lets the
// loop's other work go first.
func (lp *loop) accept(ll *Listener) {
	for range acceptBatch {
		fd, errno := acceptConn(ll.fd)
		switch errno {
		case 0:
			lp.start(ll, fd)
		case unix.EAGAIN:
			return
		case unix.EINTR, unix.ECONNABORTED:
		default:
			lp.pauseListener(ll, errno)
			return
		}
	}
}

// takeQueued accepts what waits on ll, which no loop accepts on any more
// (Group.Unserve), up to the size of its queue: new connections arriving as
// fast as they are taken cannot keep the loop here.
func (lp *loop) takeQueued(ll *Listener) {
	for range listenBacklog() {
		fd, errno := acceptConn(ll.fd)
		switch errno {
		case 0:
			lp.start(ll, fd)
		case unix.EINTR, unix.ECONNABORTED:
		default: // EAGAIN: none left; anything else: closing resets the rest
			return
		}
	}
}

// pauseListener stops accepting on ll for a while: EMFILE and the like
// would otherwise wake the loop for the same connection over and over.
func (lp *loop) pauseListener(ll *Listener, errno unix.Errno) {
	backoff := 100 * time.Millisecond
	lp.log.Warn("accept failed", "listener", ll.addr.String(),
		"error", os.NewSyscallError("accept4", errno), "retryIn", backoff)
	unix.EpollCtl(lp.epfd, unix.EPOLL_CTL_DEL, ll.fd, nil)
	lp.forget(ll.fd)
	lp.paused = append(lp.paused, pausedListener{ll: ll, until: lp.now + backoff})
}

// start serves a new client connection: relayed by this loop if its
// service's backends are all IP addresses, handed to a goroutine (which
// resolves names) otherwise.
func (lp *loop) start(ll *Listener, fd int) {
	svc, settings := lp.group.e.Route(ll.address)
	if svc == nil {
		closeFD(fd)
		return
	}
	if !settings.IPBackends {
		lp.handOff(ll, fd)
		return
	}
	// Counted here, not where it is relayed: Shutdown's wait may begin
	// before a loop it was passed to starts it.
	lp.group.e.Opened()
	if to := lp.group.lessLoaded(lp); to != nil {
		to.post(func() { to.relay(svc, settings, fd) })
		return
	}
	lp.relay(svc, settings, fd)
}

// relay starts carrying a new client connection.
func (lp *loop) relay(svc Service, settings Settings, fd int) {
	c := lp.newConn(svc, settings, fd)
	if errno := lp.register(fd, connEvents, fdEntry{conn: c, side: 0}); errno != 0 {
		closeFD(fd)
		lp.release(c)
		lp.group.e.Closed()
		return
	}
	c.dial()
}

func (lp *loop) handOff(ll *Listener, fd int) {
	f := os.NewFile(uintptr(fd), "client")
	conn, err := net.FileConn(f) // a duplicate, registered with Go's poller
	f.Close()
	if err != nil {
		lp.log.Warn("accept failed", "listener", ll.addr.String(), "error", err)
		return
	}
	lp.handoffs++
	lp.group.e.HandOff(ll.address, conn, lp.handoffs)
}

// sweep enforces connect and idle timeouts and resumes paused listeners.
func (lp *loop) sweep() {
	lp.nextSweep = lp.now + sweepInterval
	if len(lp.conns) == 0 && len(lp.paused) == 0 {
		lp.nextSweep = lp.now // nothing to sweep: the next connection arms a sweep at once
	}
	longLived := false
	for i := 0; i < len(lp.conns); {
		c := lp.conns[i]
		longLived = longLived || lp.now-c.started >= settleAge
		c.checkTimeouts()
		if i < len(lp.conns) && lp.conns[i] == c {
			i++ // c is still there; otherwise another took its slot
		}
	}
	if lp.longLived.Load() != longLived {
		lp.longLived.Store(longLived)
	}
	kept := lp.paused[:0]
	for _, p := range lp.paused {
		if lp.now < p.until {
			kept = append(kept, p)
		} else if errno := lp.register(p.ll.fd, listenerEvents, fdEntry{ln: p.ll}); errno != 0 {
			lp.log.Error("resuming listener failed", "listener", p.ll.addr.String(),
				"error", os.NewSyscallError("epoll_ctl", errno))
		}
	}
	lp.paused = kept
}

func (lp *loop) abortAll() {
	for len(lp.conns) > 0 {
		lp.conns[len(lp.conns)-1].close()
	}
}

// shutdown frees what the loop holds once it stopped; the engine has
// aborted its connections and removed its listeners before.
func (lp *loop) shutdown() {
	lp.abortAll()
	for _, p := range lp.pipes {
		p.close()
	}
	lp.pipes = nil
	unix.Close(lp.epfd)
	lp.mu.Lock()
	lp.stopped = true
	cmds := lp.cmds
	lp.cmds = nil
	unix.Close(lp.wakefd)
	lp.mu.Unlock()
	for _, f := range cmds {
		f()
	}
	close(lp.finished)
}

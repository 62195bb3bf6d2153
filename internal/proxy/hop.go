package proxy

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync/atomic"
	"time"

	"github.com/tailscale-gateway/tailscale-gateway/internal/lb"
)

// A hop is a backend that is itself a proxy: another pool's machine, reached
// through the tailnet (proxyconfig.Backend.Network "tailnet"), which forwards
// to its own upstream. Its listener completes the handshake before it dials
// that upstream, so a successful dial to a hop proves nothing: when the
// hop's upstream is down, the hop accepts and then closes (or resets) the
// connection. Counted as a success, that would bypass both the retry on
// another backend and passive ejection, and every such client would see a
// closed connection until active checks caught up.
//
// So a connection to a hop starts with a buffering phase. The client's
// first bytes (at most maxReplay) are forwarded to the hop and also kept.
// If the hop closes or resets before sending a byte, and nothing was
// written to the client, it counts as a failed dial for outlier detection
// and the connection is retried on another backend, the kept bytes
// replayed. The connection commits, and is then forwarded by pipe like any
// other (splice included), as soon as
//   - the hop sends its first byte (whatever the protocol: for server-first
//     protocols the greeting commits at once), or
//   - the client sent more than maxReplay bytes, or
//   - no byte came either way for the idle timeout, or
//   - the hop closes after the client's end of input was passed on (an
//     empty answer to a finished request, such as a connect-and-close
//     probe: not a failure).
//
// There is no replay after a commit: once the hop answered, or had the
// chance to act on more than can be replayed, a real upstream may have
// acted on the request, and sending it again elsewhere could repeat that
// action. Connections to other backends have no buffering phase at all:
// their dial result is the truth.

// maxReplay bounds the client bytes kept per connection for a replay.
const maxReplay = 64 << 10

// aLongTimeAgo is a deadline in the past: setting it interrupts blocked
// reads and writes.
var aLongTimeAgo = time.Unix(1, 0)

// serveHop runs the buffering phase of a connection whose first backend, m,
// is a hop, and retries other backends (sharing the attempt a) while hops
// close before answering. It returns the backend to forward to and the
// handoff for pipe, or a nil conn when the connection was dealt with (the
// client went away, or no backend was left; both conns closed).
func (e *Engine) serveHop(svc *service, tc *trackedConn, a *lb.Attempt, settings *serviceSettings,
	m *lb.Member, cnt *counters, up net.Conn) (*lb.Member, *counters, net.Conn, *handoff) {
	b := &hopBuffer{client: tc.client}
	for {
		r := b.probe(up, settings.idleTimeout)
		switch r.outcome {
		case probeCommitted:
			if r.err != nil {
				reportFailure(svc, m, cnt, r.err)
			} else {
				reportSuccess(svc, m, cnt)
			}
			return m, cnt, up, r.handoff
		case probeClientGone:
			svc.bal.Done(m)
			up.Close()
			tc.client.Close()
			return nil, nil, nil, nil
		}
		svc.bal.Done(m)
		up.Close()
		reportFailure(svc, m, cnt, r.err)
		e.opts.Logger.Debug("hop closed before answering; trying another backend", "service", svc.name,
			"backend", m.Name(), "error", r.err)
		if m, cnt, up = e.dialBackend(svc, tc, a, settings.connectTimeout); up == nil {
			e.unserved(svc, tc.client)
			return nil, nil, nil, nil
		}
		if !cnt.hop.Load() {
			// Its dial result is the truth: replay and commit.
			h := &handoff{clientEnded: b.clientEnded.Load()}
			h.prefix[0] = b.kept
			return m, cnt, up, h
		}
	}
}

// hopBuffer is the buffering phase of one client connection, over the hops
// it tries in turn.
type hopBuffer struct {
	client net.Conn
	// kept holds the client's bytes so far, for a replay; overflow is set
	// (and kept dropped) once they pass maxReplay. Both belong to the pump
	// while it runs, to probe after it returned.
	kept     []byte
	overflow bool
	// clientEnded is set when the client's input ended, before the hop is
	// half-closed: a hop's close seen after it may answer that half-close.
	clientEnded atomic.Bool
}

type probeOutcome int

const (
	probeCommitted  probeOutcome = iota // forward to this backend (handoff set)
	probeFailed                         // the hop closed before answering: retry (err set)
	probeClientGone                     // the client conn failed or was closed
)

type probeResult struct {
	outcome probeOutcome
	handoff *handoff
	// err: why the hop failed. A committed result may carry one too: the
	// hop failed when a replay was no longer possible.
	err error
}

// probe forwards the client's bytes to the hop up (replaying the kept ones
// first) while it waits for the hop's first byte, and reports how the
// buffering phase ended with this hop. The pump goroutine copies
// client → hop; probe reads hop → client itself.
func (b *hopBuffer) probe(up net.Conn, idle time.Duration) probeResult {
	var stop atomic.Bool
	out := make(chan pumpResult, 1)
	go b.pump(up, &stop, out)

	buf := copyBuffers.Get().(*[]byte)
	if idle > 0 {
		up.SetReadDeadline(time.Now().Add(idle))
	}
	n, err := up.Read(*buf)
	ended := b.clientEnded.Load() // before the hop's close arrived, if it did

	// Stop the pump: a blocked client read or hop write returns at once,
	// and whatever it read from the client but did not write comes back as
	// pending, so nothing is lost.
	stop.Store(true)
	b.client.SetReadDeadline(aLongTimeAgo)
	up.SetWriteDeadline(aLongTimeAgo)
	r := <-out
	b.client.SetReadDeadline(time.Time{})
	up.SetReadDeadline(time.Time{})
	up.SetWriteDeadline(time.Time{})

	var fail error
	switch {
	case r.exit == pumpClientErr:
		copyBuffers.Put(buf)
		r.release()
		return probeResult{outcome: probeClientGone}
	case n > 0, r.exit == pumpOverflow:
		return r.commit(b, buf, n, nil)
	case r.exit == pumpBackendErr:
		fail = r.err
	case err == nil, errors.Is(err, os.ErrDeadlineExceeded):
		return r.commit(b, buf, 0, nil) // idle for the idle timeout: pipe takes over
	case err == io.EOF && ended:
		return r.commit(b, buf, 0, nil) // an empty answer to a finished request
	default:
		fail = err
	}
	fail = fmt.Errorf("hop closed before answering: %w", fail)
	if b.overflow {
		// Too late for a replay: pass the close on.
		return r.commit(b, buf, 0, fail)
	}
	copyBuffers.Put(buf)
	r.release()
	return probeResult{outcome: probeFailed, err: fail}
}

// pumpExit is why the pump returned.
type pumpExit int

const (
	pumpEnded      pumpExit = iota // the client's input ended; the hop was half-closed
	pumpStopped                    // probe stopped it
	pumpOverflow                   // the client sent more than maxReplay: commit
	pumpBackendErr                 // a write to the hop failed
	pumpClientErr                  // the client conn failed or was closed
)

type pumpResult struct {
	exit    pumpExit
	err     error
	pending []byte  // read from the client but not written to the hop
	buf     *[]byte // pooled buffer under pending, or nil
	sent    int64   // bytes written to the hop
}

func (r *pumpResult) release() {
	if r.buf != nil {
		copyBuffers.Put(r.buf)
		r.buf = nil
	}
}

// commit hands the connection to pipe: first the hop's n bytes in buf,
// then the client's pending bytes. fail, if set, is a hop failure to report.
func (r *pumpResult) commit(b *hopBuffer, buf *[]byte, n int, fail error) probeResult {
	h := &handoff{sent: r.sent, clientEnded: b.clientEnded.Load(), backendShut: r.exit == pumpEnded}
	h.prefix[0], h.bufs[0] = r.pending, r.buf
	if n > 0 {
		h.prefix[1], h.bufs[1] = (*buf)[:n], buf
	} else {
		copyBuffers.Put(buf)
	}
	b.kept = nil
	return probeResult{outcome: probeCommitted, handoff: h, err: fail}
}

// pump copies client → hop during the buffering phase, keeping what it
// copies in b.kept, until the client's input ends, probe stops it, or
// something goes wrong. On overflow and errors it interrupts probe's read
// of the hop; it reports on out.
func (b *hopBuffer) pump(up net.Conn, stop *atomic.Bool, out chan<- pumpResult) {
	var r pumpResult
	defer func() {
		if r.exit == pumpOverflow || r.exit == pumpBackendErr || r.exit == pumpClientErr {
			up.SetReadDeadline(aLongTimeAgo) // probe decides from r
		}
		out <- r
	}()
	writeFailed := func(err error, pending []byte) {
		r.pending = pending
		if stop.Load() {
			r.exit = pumpStopped // probe's write deadline
		} else {
			r.exit, r.err = pumpBackendErr, err
		}
	}
	if len(b.kept) > 0 { // a retry: replay
		n, err := up.Write(b.kept)
		r.sent += int64(n)
		if err != nil {
			writeFailed(err, b.kept[n:])
			return
		}
	}
	if b.clientEnded.Load() {
		closeWrite(up)
		r.exit = pumpEnded
		return
	}
	r.buf = copyBuffers.Get().(*[]byte)
	for {
		n, err := b.client.Read(*r.buf)
		if n > 0 {
			chunk := (*r.buf)[:n]
			if !b.overflow && len(b.kept)+n <= maxReplay {
				b.kept = append(b.kept, chunk...)
			} else {
				b.overflow, b.kept = true, nil
			}
			w, werr := up.Write(chunk)
			r.sent += int64(w)
			if werr != nil {
				writeFailed(werr, chunk[w:])
				return
			}
			if b.overflow {
				r.exit = pumpOverflow
				return
			}
		}
		switch {
		case err == nil:
		case err == io.EOF:
			b.clientEnded.Store(true)
			closeWrite(up)
			r.exit = pumpEnded
			return
		case stop.Load():
			r.exit = pumpStopped // probe's read deadline
			return
		default:
			r.exit, r.err = pumpClientErr, err
			return
		}
	}
}

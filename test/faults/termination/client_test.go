package termination

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// request is one exchange a client asks for (backend_test.go).
type request struct {
	kind             string
	id               uint64
	upload, download int64
}

// result is what a client saw of one exchange.
type result struct {
	request
	started, ended time.Time
	// connected is when the dial returned a connection (zero if not).
	connected time.Time
	// refused: the dial was refused, so no listening socket was there.
	refused bool
	// greeted: the greeting came back, so the proxy took the connection
	// on and reached a backend.
	greeted bool
	// complete: every frame, the total and the upload's digest matched,
	// then the connection ended cleanly.
	complete bool
	received int64
	err      error
}

// dialer probes idle connections every second. Some network stacks
// (gVisor's, seen running this test) let a handshake in progress vanish
// without a reset when the listening socket closes: the client holds an
// established connection nobody serves, which a probe then resets within
// seconds instead of it hanging until exchangeLimit. A live proxy answers
// the probes, so they end nothing else.
var dialer = net.Dialer{
	Timeout:         5 * time.Second,
	KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: time.Second, Interval: time.Second, Count: 3},
}

// exchangeLimit bounds one exchange, so that nothing the proxy does can
// hang the test: a hit shows as an error.
const exchangeLimit = time.Minute

// exchange runs req against addr. received, if not nil, counts download
// bytes as they arrive (the test watches long streams progress).
func exchange(addr string, req request, received *atomic.Int64) (res result) {
	res = result{request: req, started: time.Now()}
	defer func() { res.ended = time.Now() }()
	live := &liveExchange{addr: addr, req: req, started: res.started}
	live.stage.Store("dialling")
	inFlight.Store(live, struct{}{})
	defer inFlight.Delete(live)
	c, err := dialer.Dial("tcp", addr)
	if err != nil {
		res.refused = errors.Is(err, syscall.ECONNREFUSED)
		res.err = err
		return res
	}
	defer c.Close()
	res.connected = time.Now()
	live.local.Store(c.LocalAddr().String())
	live.stage.Store("waiting for the greeting")
	c.SetDeadline(time.Now().Add(exchangeLimit))
	r := bufio.NewReaderSize(c, 64<<10)
	g, err := r.ReadByte()
	if err != nil || g != greeting {
		res.err = fmt.Errorf("greeting: %q, %v", g, err)
		return res
	}
	res.greeted = true
	live.stage.Store("sending the request")
	if err := sendRequest(c, req); err != nil {
		res.err = fmt.Errorf("sending the request: %w", err)
		return res
	}
	live.stage.Store("reading the answer")
	res.received, res.err = readFrames(r, req, received)
	res.complete = res.err == nil
	return res
}

// inFlight holds the exchanges running, for a failure's log.
var inFlight sync.Map // *liveExchange → struct{}

type liveExchange struct {
	addr    string
	req     request
	started time.Time
	local   atomic.Value // string: the client's address once connected
	stage   atomic.Value // string
}

// exchangesInFlight describes the exchanges with addr still running.
func exchangesInFlight(addr string) string {
	var b strings.Builder
	inFlight.Range(func(k, _ any) bool {
		l := k.(*liveExchange)
		if l.addr == addr {
			fmt.Fprintf(&b, "%s %d from %v, %s for %s\n", l.req.kind, l.req.id, l.local.Load(), l.stage.Load(), time.Since(l.started).Round(time.Millisecond))
		}
		return true
	})
	return b.String()
}

func sendRequest(c net.Conn, req request) error {
	w := bufio.NewWriterSize(c, 64<<10)
	fmt.Fprintf(w, "%s %d %d %d\n", req.kind, req.id, req.upload, req.download)
	buf := make([]byte, 32<<10)
	for off := int64(0); off < req.upload; off += int64(len(buf)) {
		p := buf[:min(int64(len(buf)), req.upload-off)]
		fillPattern(p, uploadSeed(req.id), off)
		if _, err := w.Write(p); err != nil {
			return err
		}
	}
	return w.Flush()
}

// readFrames reads the download to its end and checks every byte of it,
// the total the backend sent, the digest of the upload the backend got,
// and that the connection then ends.
func readFrames(r *bufio.Reader, req request, received *atomic.Int64) (int64, error) {
	var got int64
	var head [4]byte
	buf := make([]byte, maxFrame)
	want := make([]byte, maxFrame)
	for {
		if _, err := io.ReadFull(r, head[:]); err != nil {
			return got, fmt.Errorf("cut after %d bytes: %w", got, err)
		}
		n := int64(binary.BigEndian.Uint32(head[:]))
		if n == 0 {
			break
		}
		if n > maxFrame {
			return got, fmt.Errorf("frame of %d bytes after %d bytes", n, got)
		}
		if _, err := io.ReadFull(r, buf[:n]); err != nil {
			return got, fmt.Errorf("cut after %d bytes: %w", got, err)
		}
		fillPattern(want[:n], downloadSeed(req.id), got)
		if !bytes.Equal(buf[:n], want[:n]) {
			return got, fmt.Errorf("wrong bytes in the frame after %d bytes", got)
		}
		got += n
		if received != nil {
			received.Store(got)
		}
	}
	var tail [8 + sha256.Size]byte
	if _, err := io.ReadFull(r, tail[:]); err != nil {
		return got, fmt.Errorf("cut in the trailer: %w", err)
	}
	if sent := int64(binary.BigEndian.Uint64(tail[:8])); sent != got {
		return got, fmt.Errorf("received %d bytes, the backend sent %d", got, sent)
	}
	if req.kind != kindLong && got != req.download {
		return got, fmt.Errorf("received %d bytes, asked for %d", got, req.download)
	}
	if !bytes.Equal(tail[8:], uploadDigest(req)) {
		return got, errors.New("the backend got a different upload")
	}
	if _, err := r.ReadByte(); err != io.EOF {
		return got, fmt.Errorf("after the trailer: %v, want the end of the stream", err)
	}
	return got, nil
}

func uploadDigest(req request) []byte {
	h := sha256.New()
	buf := make([]byte, 32<<10)
	for off := int64(0); off < req.upload; off += int64(len(buf)) {
		p := buf[:min(int64(len(buf)), req.upload-off)]
		fillPattern(p, uploadSeed(req.id), off)
		h.Write(p)
	}
	return h.Sum(nil)
}

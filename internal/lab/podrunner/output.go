package podrunner

import (
	"bytes"
	"io"
	"sync"
)

// linePrefixer writes whole lines, each prefixed, to a writer shared by
// every replica (mu serializes them), so output of different pods never
// interleaves within a line.
type linePrefixer struct {
	mu     *sync.Mutex
	w      io.Writer
	prefix string
	buf    []byte
}

func (p *linePrefixer) Write(b []byte) (int, error) {
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		p.mu.Lock()
		_, _ = io.WriteString(p.w, p.prefix+string(p.buf[:i+1])) // a lost copy of a log line is harmless
		p.mu.Unlock()
		p.buf = append(p.buf[:0], p.buf[i+1:]...)
	}
}

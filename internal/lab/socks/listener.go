package socks

import (
	"net"
	"sync"
)

// trackingListener remembers accepted connections so Close can end them:
// the SOCKS5 server has no shutdown of its own.
type trackingListener struct {
	net.Listener
	mu     sync.Mutex
	closed bool
	conns  map[net.Conn]bool
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		c.Close()
		return nil, net.ErrClosed
	}
	tc := &trackedConn{Conn: c, forget: l.forget}
	l.conns[tc] = true
	return tc, nil
}

func (l *trackingListener) forget(c net.Conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.conns, c)
}

func (l *trackingListener) closeAccepted() {
	l.mu.Lock()
	l.closed = true
	conns := make([]net.Conn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

// trackedConn leaves the listener's set when closed.
type trackedConn struct {
	net.Conn
	once   sync.Once
	forget func(net.Conn)
}

func (c *trackedConn) Close() error {
	c.once.Do(func() { c.forget(c) })
	return c.Conn.Close()
}

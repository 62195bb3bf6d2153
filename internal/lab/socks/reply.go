package socks

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
)

// Reply codes of RFC 1928 that the proxy gives.
const (
	ReplySucceeded       = 0
	ReplyNotAllowed      = 2 // connection not allowed by ruleset
	ReplyHostUnreachable = 4
)

// Reply asks the proxy at proxyAddr to CONNECT to host:port (host an IP
// literal or a name, sent unresolved) and returns the reply code, then
// hangs up. It is how tests see what the proxy allows without sending
// anything past it.
func Reply(ctx context.Context, proxyAddr, host string, port uint16) (byte, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", proxyAddr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	if deadline, ok := ctx.Deadline(); ok {
		c.SetDeadline(deadline)
	}
	if _, err := c.Write(append([]byte{5, 1, 0}, connectRequest(host, port)...)); err != nil {
		return 0, err
	}
	r := bufio.NewReader(c)
	var head [4]byte // method selection (2 bytes), then VER and REP
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return 0, fmt.Errorf("reading the SOCKS5 reply: %w", err)
	}
	return head[3], nil
}

func connectRequest(host string, port uint16) []byte {
	b := []byte{5, 1, 0}
	if ip, err := netip.ParseAddr(host); err == nil && ip.Is4() {
		a := ip.As4()
		b = append(append(b, 1), a[:]...)
	} else if err == nil {
		a := ip.As16()
		b = append(append(b, 4), a[:]...)
	} else {
		b = append(append(b, 3, byte(len(host))), host...)
	}
	return binary.BigEndian.AppendUint16(b, port)
}

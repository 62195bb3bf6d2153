package devenv

import (
	"fmt"
	"net"
)

// preferredAddr is addr when it can be bound now, else a free port on
// the same host: a default port already taken (another `make dev`, a
// local SOCKS proxy on 1080) must not stop the dev environment. The
// check and the later bind are not atomic; losing that race fails
// start-up with a clear error.
func preferredAddr(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		return addr, ln.Close()
	}
	host, _, splitErr := net.SplitHostPort(addr)
	if splitErr != nil {
		return "", fmt.Errorf("address %q: %w", addr, splitErr)
	}
	return net.JoinHostPort(host, "0"), nil
}

// listenPreferred listens on addr, or on a free port of its host when
// addr is taken.
func listenPreferred(addr string) (net.Listener, error) {
	addr, err := preferredAddr(addr)
	if err != nil {
		return nil, err
	}
	return net.Listen("tcp", addr)
}

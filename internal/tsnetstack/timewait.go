// Package tsnetstack tunes the userspace TCP/IP stack (gVisor's netstack)
// of the tsnet nodes this project runs.
package tsnetstack

import (
	"errors"
	"fmt"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"tailscale.com/tsnet"
	"tailscale.com/wgengine/netstack"
)

// TimeWait is how long a closed TCP connection of a tsnet node stays in
// TIME-WAIT: none.
//
// Why: a node that serves TCP (a proxy machine, a VIP service host) closes
// first whenever its backend does (HTTP with Connection: close, for one),
// so the server side of most connections ends in TIME-WAIT, 60 s by
// default. A client that picks the same source port again in that time
// (gVisor picks ports at random, Linux cycles through them per
// destination) sends a SYN that the TIME-WAIT endpoint owns. Linux would
// hand a SYN with a newer sequence number on to the listener; gVisor does
// so only to a gVisor listening endpoint, and tsnet accepts connections
// through a forwarder, not through one. So the SYN, and every retransmission
// of it, is dropped until TIME-WAIT ends: the client's connect hangs. With
// random ports that hit about 1 in 60 new connections in the lab at a few
// hundred connections a minute (TestNoConnectStallsAfterServerCloses), and
// it grows with the connection rate.
//
// What TIME-WAIT protects against, a late segment of the previous
// connection accepted into a new one on the same ports, needs a segment
// delayed past the new connection's handshake, and the new connection's
// initial sequence number is clock-based (far from the old one); a
// retransmitted final FIN is answered with a reset instead of an ACK,
// which the peer, already closed, ignores.
const TimeWait = time.Duration(0)

// ShortenTimeWait sets TimeWait on a started node's netstack (stack-wide,
// so for every connection of the node).
func ShortenTimeWait(s *tsnet.Server) error {
	sys := s.Sys()
	if sys == nil {
		return errors.New("the tailnet node has no netstack yet: start it first")
	}
	impl, ok := sys.Netstack.GetOK()
	if !ok {
		return errors.New("the tailnet node has no netstack yet: start it first")
	}
	ns, ok := impl.(*netstack.Impl)
	if !ok {
		return fmt.Errorf("the tailnet node's netstack is a %T, not a *netstack.Impl", impl)
	}
	opt := tcpip.TCPTimeWaitTimeoutOption(TimeWait)
	if err := ns.SetTransportProtocolOption(tcp.ProtocolNumber, &opt); err != nil {
		return fmt.Errorf("set the TIME-WAIT timeout: %v", err)
	}
	return nil
}

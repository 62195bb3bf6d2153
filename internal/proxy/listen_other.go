//go:build !linux

package proxy

import "net"

// tcpListenConfig keeps Go's per-connection keep-alive defaults.
var tcpListenConfig = net.ListenConfig{
	KeepAlive: keepAliveIdle,
	KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: keepAliveIdle,
		Interval: keepAliveInterval, Count: keepAliveCount},
}

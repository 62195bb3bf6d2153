package lab

import (
	"sync"

	"tailscale.com/net/netns"
)

// Nodes on loopback must not use netns (it binds sockets to the default
// route's interface, which breaks loopback). netns is process-wide, and
// several labs may run at once in one test binary, so it is switched off
// while any lab runs and restored when the last one closes.
var (
	netnsMu    sync.Mutex
	netnsUsers int
)

func acquireLoopbackNetns() {
	netnsMu.Lock()
	defer netnsMu.Unlock()
	if netnsUsers == 0 {
		netns.SetEnabled(false)
	}
	netnsUsers++
}

func releaseLoopbackNetns() {
	netnsMu.Lock()
	defer netnsMu.Unlock()
	netnsUsers--
	if netnsUsers == 0 {
		netns.SetEnabled(true)
	}
}

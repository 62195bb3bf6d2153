package podmode

import (
	"strings"

	"tailscale.com/envknob"
	"tailscale.com/ipn"
)

// uploadsLogs reports whether the tailnet node may upload its logs to
// Tailscale's log service. Only nodes of Tailscale's own coordination
// server do, as tailscaled's do, and not when TS_NO_LOGS_NO_SUPPORT is
// set (Tailscale's own opt-out). A node of another coordination server (a
// self-hosted one, or the offline lab) keeps its logs: Tailscale cannot
// support that tailnet, and the logs would otherwise leave a network that
// may be meant to be closed. tsnet itself uploads unconditionally, so the
// proxy decides (docs/design-notes.md, "Proxy log upload").
func uploadsLogs(controlURL string, noLogsNoSupport bool) bool {
	if noLogsNoSupport {
		return false
	}
	u := strings.TrimRight(controlURL, "/")
	return u == "" || ipn.IsLoginServerSynonym(u)
}

// noLogsNoSupport is TS_NO_LOGS_NO_SUPPORT as Tailscale reads it.
func noLogsNoSupport() bool { return envknob.NoLogsNoSupport() }

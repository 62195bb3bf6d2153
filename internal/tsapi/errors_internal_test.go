package tsapi

import (
	"strings"
	"testing"

	tailscale "tailscale.com/client/tailscale/v2"
)

// A server answering with megabytes of error text (a proxy's error page)
// yields an error short enough for a condition or an Event.
func TestServerMessagesAreBounded(t *testing.T) {
	err := wrapErr("list devices", tailscale.APIError{Status: 502, Message: strings.Repeat("<html>", 1<<18)})
	if n := len(err.Error()); n > maxServerMessage+200 {
		t.Errorf("error is %d bytes", n)
	}
	if !strings.Contains(err.Error(), "bytes cut") || !IsNotFound(wrapErr("x", tailscale.APIError{Status: 404, Message: "gone"})) {
		t.Errorf("error %q", err)
	}
}

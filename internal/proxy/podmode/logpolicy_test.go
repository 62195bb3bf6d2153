package podmode

import "testing"

func TestUploadsLogs(t *testing.T) {
	for _, tc := range []struct {
		controlURL string
		noLogs     bool
		want       bool
	}{
		{"", false, true}, // tsnet's default: Tailscale's coordination server
		{"https://controlplane.tailscale.com", false, true},
		{"https://login.tailscale.com/", false, true},
		{"https://controlplane.tailscale.com", true, false},
		{"https://headscale.example.com", false, false},
		{"http://10.88.0.1:9911", false, false},
		{"http://controlplane.tailscale.com", false, false}, // not Tailscale's: plain HTTP
	} {
		if got := uploadsLogs(tc.controlURL, tc.noLogs); got != tc.want {
			t.Errorf("uploadsLogs(%q, %v) = %v, want %v", tc.controlURL, tc.noLogs, got, tc.want)
		}
	}
}

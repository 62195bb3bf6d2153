package podmode

import (
	"net"
	"strconv"
	"testing"

	"github.com/tailscale-gateway/tailscale-gateway/internal/proxyconfig"
)

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// Pod-network listeners bind the pod's own address (every address when it
// is not known), on the port of the configuration's ":port" address.
func TestPodListenersBindThePodIP(t *testing.T) {
	for _, tt := range []struct {
		podIP    string
		wantHost string
	}{
		{"127.0.0.1", "127.0.0.1"},
		{"", "::"},
	} {
		port := freePort(t)
		ln, err := newNetwork(tt.podIP).listen(t.Context(), proxyconfig.Listener{Address: ":" + port, Network: proxyconfig.NetworkPod, Service: "s"})
		if err != nil {
			t.Fatalf("pod IP %q: %v", tt.podIP, err)
		}
		host, gotPort, _ := net.SplitHostPort(ln.Addr().String())
		ln.Close()
		if host != tt.wantHost || gotPort != port {
			t.Errorf("pod IP %q: bound %s, want %s:%s", tt.podIP, ln.Addr(), tt.wantHost, port)
		}
	}
	if _, err := newNetwork("127.0.0.1").listen(t.Context(), proxyconfig.Listener{Address: ":0", Network: proxyconfig.NetworkPod}); err == nil {
		t.Error("a pod listener without a fixed port was accepted: the EndpointSlices could not name it")
	}
}

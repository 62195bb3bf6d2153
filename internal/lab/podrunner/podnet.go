package podrunner

import (
	"fmt"
	"hash/fnv"
	"net"
	"os/exec"
	"strings"
	"sync"
)

// Pod addresses. Every replica gets an address of its own, so that all of
// them can bind the same port, as pods can. The API server refuses
// loopback addresses in EndpointSlices, so the lab prefers addresses that
// are the host's own without being loopback: it routes 198.18.0.0/15
// (RFC 2544's benchmarking range, never used on real networks) to the
// loopback interface as a "local" route, the way 127.0.0.0/8 is. That
// takes CAP_NET_ADMIN; without it pods get addresses in 127.0.0.0/8, and
// in-cluster Services of the lab have no endpoints (PodNetwork says why).
const podRange = "198.18.0.0/15"

type podNetwork struct {
	routable bool
	why      string // why not routable
}

var podNet = sync.OnceValue(func() podNetwork {
	out, err := exec.Command("ip", "route", "replace", "local", podRange, "dev", "lo").CombinedOutput()
	if err != nil {
		return podNetwork{why: fmt.Sprintf("routing %s to the loopback interface failed (%v: %s); it needs CAP_NET_ADMIN",
			podRange, err, strings.TrimSpace(string(out)))}
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(podIPIn(true, "lab", "check"), "0"))
	if err != nil {
		return podNetwork{why: fmt.Sprintf("%s is routed locally but cannot be bound: %v", podRange, err)}
	}
	ln.Close()
	return podNetwork{routable: true}
})

// PodNetwork says whether the lab's pod addresses can be endpoints of a
// Service (EndpointSlices refuse loopback addresses), and if not, why.
func PodNetwork() (routable bool, why string) {
	n := podNet()
	return n.routable, n.why
}

// podIP is a pod's own address, chosen by a hash of its name so that a
// restarted replica gets the same one.
func podIP(namespace, pod string) string { return podIPIn(podNet().routable, namespace, pod) }

func podIPIn(routable bool, namespace, pod string) string {
	h := fnv.New32a()
	h.Write([]byte(namespace + "/" + pod))
	v := h.Sum32()
	if routable { // 198.18.0.1 to 198.19.255.254, no .0 or .255
		return fmt.Sprintf("198.%d.%d.%d", 18+(v>>16)%2, (v>>8)%256, 1+v%254)
	}
	// 127.64.0.1 to 127.127.255.254: clear of 127.0.0.1, no .0 or .255.
	return fmt.Sprintf("127.%d.%d.%d", 64+(v>>16)%64, (v>>8)%256, 1+v%254)
}

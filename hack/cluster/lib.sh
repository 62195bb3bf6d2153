# Shared settings of hack/cluster/up.sh and down.sh (sourced).
# The node's layout: everything it writes lives under $CLUSTER_DIR (default
# .cluster/ in the repository, git-ignored), except what the kernel and
# containerd 1.6 keep in fixed places, each recorded and removed by down.sh:
# the bridge $BRIDGE, iptables chains KUBE-* (kube-proxy, kubelet) in the
# filter, nat and mangle tables, the cgroups kubepods/ under every v1
# controller, the pods' network namespaces /var/run/netns/cni-*, the CNI
# result cache /var/lib/cni/cache/results/$CNI_NETWORK-*, and two sysctls
# (net.ipv4.ip_forward, net.bridge.bridge-nf-call-iptables), set back as found.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
CLUSTER_DIR=${CLUSTER_DIR:-$repo/.cluster}
NODE_NAME=${NODE_NAME:-tsgw-node}
BRIDGE=tsgw0
CNI_NETWORK=tsgw
POD_CIDR=10.88.0.0/16
NODE_IP=10.88.0.1          # the bridge's own address: API server, kubelet, pods' gateway
SERVICE_CIDR=10.96.0.0/16
KUBERNETES_SVC_IP=10.96.0.1
DNS_SVC_IP=10.96.0.10
ETCD_CLIENT=127.0.0.1:23790
ETCD_PEER=127.0.0.1:23800
API_PORT=6443
COREDNS_VERSION=v1.14.7
PAUSE_IMAGE=tsgw.local/pause:1
COREDNS_IMAGE=tsgw.local/coredns:$COREDNS_VERSION
SOCK=$CLUSTER_DIR/containerd/containerd.sock
PIDS=$CLUSTER_DIR/pids
LOGS=$CLUSTER_DIR/logs
CNI_BIN_DIR=/usr/lib/cni
# Daemons in start order; down.sh stops them in reverse.
DAEMONS="containerd etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy"

log() { echo "cluster: $*" >&2; }
die() { echo "cluster: $*" >&2; exit 1; }

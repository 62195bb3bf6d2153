#!/usr/bin/env bash
# `make cluster-up`: one real Kubernetes node on this machine, offline, as
# root, without systemd: containerd, etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kubelet, kube-proxy (iptables) and
# CoreDNS as a pod, with PKI and configs generated per run under
# $CLUSTER_DIR. Daemons keep running in the background (PIDs in
# $CLUSTER_DIR/pids); `make cluster-down` (hack/cluster/down.sh) stops them
# and removes everything the node created. Prints the admin kubeconfig's path
# once the node is Ready and CoreDNS answers.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
t0=$(date +%s)

# --- can this machine host a node? (a clear message, never a hang) ---------
[ "$(id -u)" = 0 ] || die "must run as root (it starts containerd and a kubelet, and changes iptables, interfaces and cgroups)"
[ "$(uname -s)" = Linux ] || die "needs Linux"
for f in cpu cpuacct cpuset memory pids; do
  if [ ! -d /sys/fs/cgroup/$f ] && [ ! -f /sys/fs/cgroup/cgroup.controllers ]; then
    die "cgroup controller $f is not mounted under /sys/fs/cgroup"
  fi
done
if [ -e "$PIDS" ] && ls "$PIDS"/*.pid >/dev/null 2>&1; then
  for p in "$PIDS"/*.pid; do
    if kill -0 "$(cat "$p")" 2>/dev/null; then
      die "a node is already running from $CLUSTER_DIR ($(basename "$p" .pid) pid $(cat "$p")); run make cluster-down first"
    fi
  done
fi
if awk -v d="$CLUSTER_DIR/" 'index($5, d) == 1 {f=1} END {exit !f}' /proc/self/mountinfo; then
  die "mounts remain under $CLUSTER_DIR from a previous node: run make cluster-down first"
fi
if ip -4 route show 2>/dev/null | grep -qE '^10\.(88|96)\.'; then
  die "this machine already routes 10.88.0.0/16 or 10.96.0.0/16 (the node's pod and service ranges): $(ip -4 route show | grep -E '^10\.(88|96)\.' | head -1)"
fi
if ip link show "$BRIDGE" >/dev/null 2>&1; then
  die "interface $BRIDGE exists already: another node runs on this machine, or a previous one was not torn down (make cluster-down)"
fi

# Packages, installed when missing (Debian).
need=""
command -v containerd >/dev/null || need="$need containerd"
command -v runc >/dev/null || need="$need runc"
[ -x "$CNI_BIN_DIR/bridge" ] && [ -x "$CNI_BIN_DIR/host-local" ] && [ -x "$CNI_BIN_DIR/loopback" ] || need="$need containernetworking-plugins"
command -v iptables >/dev/null || need="$need iptables"
command -v conntrack >/dev/null || need="$need conntrack"
command -v ip >/dev/null || need="$need iproute2"
command -v openssl >/dev/null || need="$need openssl"
if [ -n "$need" ]; then
  command -v apt-get >/dev/null || die "missing:$need (and no apt-get to install them)"
  log "installing$need"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need) >&2 \
    || die "could not install$need"
fi

# Kernel features, probed rather than assumed.
iptables -w 5 -t nat -S >/dev/null 2>&1 || die "iptables does not work here (no nat table? no nf_tables/ip_tables in the kernel)"
if iptables -w 5 -S 2>/dev/null | grep -q '^-N KUBE-' || iptables -w 5 -t nat -S 2>/dev/null | grep -q '^-N KUBE-'; then
  die "iptables has KUBE-* chains already: another Kubernetes node runs here, or one was not torn down (make cluster-down)"
fi
ip link add "$BRIDGE" type bridge 2>/dev/null || die "cannot create a bridge interface (no bridge support in the kernel)"
[ -w /proc/sys/net/ipv4/ip_forward ] || { ip link del "$BRIDGE"; die "cannot set net.ipv4.ip_forward"; }
if [ ! -e /proc/sys/net/bridge/bridge-nf-call-iptables ]; then
  ip link del "$BRIDGE"; die "no br_netfilter (net.bridge.bridge-nf-call-iptables): Services would not work between pods on the bridge"
fi
ip link del "$BRIDGE"

# --- binaries, cached per machine -------------------------------------------
bin=$("$here/binaries.sh")
export PATH="$bin:$PATH"

# --- run directory ------------------------------------------------------------
rm -rf "$CLUSTER_DIR"
mkdir -p "$CLUSTER_DIR"/{pki,etcd,containerd,kubelet,cni/net.d,cni/ipam,manifests} "$PIDS" "$LOGS"
chmod 700 "$CLUSTER_DIR"
D=$CLUSTER_DIR

# What down.sh must set back or must not remove.
{
  echo "ip_forward=$(cat /proc/sys/net/ipv4/ip_forward)"
  echo "bridge_nf_call_iptables=$(cat /proc/sys/net/bridge/bridge-nf-call-iptables)"
  [ -d /var/lib/cni ] && echo "var_lib_cni_existed=1" || echo "var_lib_cni_existed=0"
  [ -d /var/run/netns ] && echo "netns_dir_existed=1" || echo "netns_dir_existed=0"
  [ -d /run/containerd ] && echo "run_containerd_existed=1" || echo "run_containerd_existed=0"
} > "$D/host.before"
{ command -v nft >/dev/null && nft list tables 2>/dev/null || true; } > "$D/nft.before"
ls /var/run/netns 2>/dev/null > "$D/netns.before" || true
for c in /sys/fs/cgroup/ /sys/fs/cgroup/*/; do [ -d "$c/kubepods" ] && echo "$c"; done > "$D/kubepods.before" || true

# --- network: the bridge first, its address is the node's ---------------------
ip link add "$BRIDGE" type bridge
ip addr add "$NODE_IP/16" dev "$BRIDGE"
ip link set "$BRIDGE" up
echo 1 > /proc/sys/net/ipv4/ip_forward
echo 1 > /proc/sys/net/bridge/bridge-nf-call-iptables

cat > "$D/cni/net.d/10-$CNI_NETWORK.conflist" <<CNI
{
  "cniVersion": "0.4.0",
  "name": "$CNI_NETWORK",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$D/cni/ipam",
        "ranges": [[{"subnet": "$POD_CIDR", "rangeStart": "10.88.0.2", "gateway": "$NODE_IP"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "loopback"}
  ]
}
CNI
# ipMasq false: pods reach the node (and what listens on $NODE_IP) but nothing
# is masqueraded out of the machine.

# --- PKI (ECDSA P-256: fast to generate; the service-account key signs ES256) ---
P=$D/pki
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$P/ca.key" 2>/dev/null
openssl req -x509 -new -key "$P/ca.key" -subj "/CN=tsgw-cluster-ca" -days 30 -out "$P/ca.crt" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
# cert NAME SUBJECT EKU [SANS]
cert() {
  local name=$1 subj=$2 eku=$3 sans=${4:-}
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$P/$name.key" 2>/dev/null
  openssl req -new -key "$P/$name.key" -subj "$subj" -out "$P/$name.csr" 2>/dev/null
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature"
    echo "extendedKeyUsage=$eku"
    [ -n "$sans" ] && echo "subjectAltName=$sans"
  } > "$P/$name.ext"
  openssl x509 -req -in "$P/$name.csr" -CA "$P/ca.crt" -CAkey "$P/ca.key" -CAcreateserial -days 30 \
    -extfile "$P/$name.ext" -out "$P/$name.crt" 2>/dev/null
  rm -f "$P/$name.csr" "$P/$name.ext"
}
cert apiserver "/CN=kube-apiserver" serverAuth \
  "DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost,IP:127.0.0.1,IP:$NODE_IP,IP:$KUBERNETES_SVC_IP"
cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
cert admin "/O=system:masters/CN=kubernetes-admin" clientAuth
cert controller-manager "/CN=system:kube-controller-manager" clientAuth
cert scheduler "/CN=system:kube-scheduler" clientAuth
cert kube-proxy "/CN=system:kube-proxy" clientAuth
cert kubelet-client "/O=system:nodes/CN=system:node:$NODE_NAME" clientAuth
cert kubelet-serving "/O=system:nodes/CN=system:node:$NODE_NAME" serverAuth "DNS:$NODE_NAME,IP:$NODE_IP"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$P/sa.key" 2>/dev/null
openssl pkey -in "$P/sa.key" -pubout -out "$P/sa.pub" 2>/dev/null
chmod 600 "$P"/*.key

# kubeconfig NAME CERT
kubeconfig() {
  cat > "$D/$1.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: tsgw
  cluster:
    server: https://$NODE_IP:$API_PORT
    certificate-authority: $P/ca.crt
users:
- name: $1
  user:
    client-certificate: $P/$2.crt
    client-key: $P/$2.key
contexts:
- name: tsgw
  context: {cluster: tsgw, user: $1}
current-context: tsgw
KC
  chmod 600 "$D/$1.kubeconfig"
}
kubeconfig admin admin
kubeconfig controller-manager controller-manager
kubeconfig scheduler scheduler
kubeconfig kube-proxy kube-proxy
kubeconfig kubelet kubelet-client
KUBECONFIG=$D/admin.kubeconfig
export KUBECONFIG

# start NAME CMD...: in the background, its own session, log and pid file.
start() {
  local name=$1; shift
  setsid "$@" </dev/null >"$LOGS/$name.log" 2>&1 &
  echo $! > "$PIDS/$name.pid"
}
# wait_for WHAT SECONDS DAEMON CMD...: poll CMD; fail with the daemon's log tail.
wait_for() {
  local what=$1 secs=$2 daemon=$3; shift 3
  local end=$(( $(date +%s) + secs ))
  until "$@" >/dev/null 2>&1; do
    if [ -n "$daemon" ] && ! kill -0 "$(cat "$PIDS/$daemon.pid")" 2>/dev/null; then
      tail -20 "$LOGS/$daemon.log" >&2; die "$daemon exited while waiting for $what (log: $LOGS/$daemon.log); run make cluster-down"
    fi
    if [ "$(date +%s)" -ge "$end" ]; then
      [ -n "$daemon" ] && tail -20 "$LOGS/$daemon.log" >&2
      die "timed out after ${secs}s waiting for $what; run make cluster-down"
    fi
    sleep 0.5
  done
}
# If anything below fails, say how to clean up (the daemons keep running for inspection).
trap 'rc=$?; [ $rc = 0 ] || log "cluster-up failed (logs in $LOGS); make cluster-down removes what was started"' EXIT

# --- containerd -----------------------------------------------------------------
cat > "$D/containerd/config.toml" <<TOML
version = 2
root = "$D/containerd/root"
state = "$D/containerd/state"
[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$SOCK.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$D/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # This VM's bounding set lacks CAP_SYS_RESOURCE: without this every sandbox
  # fails with "can't get final child's PID from pipe: EOF".
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$D/containerd/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CNI_BIN_DIR"
    conf_dir = "$D/cni/net.d"
TOML
start containerd containerd --config "$D/containerd/config.toml"
wait_for "containerd" 30 containerd ctr -a "$SOCK" version
log "containerd up ($(( $(date +%s) - t0 ))s)"

# Images: pause (the sandbox image, also the smoke test's workload) and CoreDNS.
for i in pause coredns; do
  ctr -a "$SOCK" -n k8s.io images import "$bin/images/$i.tar" >/dev/null
done

# --- etcd, API server, controller-manager, scheduler -------------------------------
start etcd etcd --name "$NODE_NAME" --data-dir "$D/etcd" \
  --listen-client-urls "http://$ETCD_CLIENT" --advertise-client-urls "http://$ETCD_CLIENT" \
  --listen-peer-urls "http://$ETCD_PEER" --initial-advertise-peer-urls "http://$ETCD_PEER" \
  --initial-cluster "$NODE_NAME=http://$ETCD_PEER" \
  --unsafe-no-fsync --log-level warn
start kube-apiserver kube-apiserver \
  --bind-address "$NODE_IP" --advertise-address "$NODE_IP" --secure-port "$API_PORT" \
  --etcd-servers "http://$ETCD_CLIENT" \
  --service-cluster-ip-range "$SERVICE_CIDR" \
  --client-ca-file "$P/ca.crt" \
  --tls-cert-file "$P/apiserver.crt" --tls-private-key-file "$P/apiserver.key" \
  --kubelet-client-certificate "$P/apiserver-kubelet-client.crt" --kubelet-client-key "$P/apiserver-kubelet-client.key" \
  --kubelet-certificate-authority "$P/ca.crt" --kubelet-preferred-address-types InternalIP \
  --service-account-issuer "https://kubernetes.default.svc.cluster.local" \
  --service-account-key-file "$P/sa.pub" --service-account-signing-key-file "$P/sa.key" \
  --authorization-mode Node,RBAC \
  --enable-admission-plugins NodeRestriction \
  --allow-privileged=true \
  --cert-dir "$D/pki/apiserver-generated"
wait_for "the API server" 90 kube-apiserver kubectl get --raw /readyz
log "API server ready ($(( $(date +%s) - t0 ))s)"
start kube-controller-manager kube-controller-manager \
  --kubeconfig "$D/controller-manager.kubeconfig" \
  --authentication-kubeconfig "$D/controller-manager.kubeconfig" \
  --authorization-kubeconfig "$D/controller-manager.kubeconfig" \
  --bind-address "$NODE_IP" --leader-elect=false \
  --client-ca-file "$P/ca.crt" \
  --root-ca-file "$P/ca.crt" --service-account-private-key-file "$P/sa.key" \
  --use-service-account-credentials=true \
  --cluster-signing-cert-file "$P/ca.crt" --cluster-signing-key-file "$P/ca.key" \
  --service-cluster-ip-range "$SERVICE_CIDR" --allocate-node-cidrs=false \
  --controllers '*,bootstrapsigner,tokencleaner'
start kube-scheduler kube-scheduler \
  --kubeconfig "$D/scheduler.kubeconfig" \
  --authentication-kubeconfig "$D/scheduler.kubeconfig" \
  --authorization-kubeconfig "$D/scheduler.kubeconfig" \
  --bind-address "$NODE_IP" --leader-elect=false

# --- kubelet and kube-proxy ---------------------------------------------------------
cat > "$D/kubelet/config.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
healthzBindAddress: $NODE_IP
readOnlyPort: 0
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $P/ca.crt}
authorization: {mode: Webhook}
tlsCertFile: $P/kubelet-serving.crt
tlsPrivateKeyFile: $P/kubelet-serving.key
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
clusterDNS: [$DNS_SVC_IP]
clusterDomain: cluster.local
containerRuntimeEndpoint: unix://$SOCK
podLogsDir: $D/kubelet/pod-logs
resolvConf: /etc/resolv.conf
# A test node on a shared disk: never evict or garbage-collect for disk space.
evictionHard: {memory.available: "100Mi", nodefs.available: "0%", imagefs.available: "0%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
rotateCertificates: false
serverTLSBootstrap: false
YAML
start kubelet kubelet --config "$D/kubelet/config.yaml" --kubeconfig "$D/kubelet.kubeconfig" \
  --root-dir "$D/kubelet/root" --cert-dir "$D/kubelet/pki" \
  --hostname-override "$NODE_NAME" --node-ip "$NODE_IP"
start kube-proxy kube-proxy --kubeconfig "$D/kube-proxy.kubeconfig" --proxy-mode iptables \
  --hostname-override "$NODE_NAME" --cluster-cidr "$POD_CIDR" \
  --conntrack-max-per-core=0 --conntrack-tcp-timeout-established=0 --conntrack-tcp-timeout-close-wait=0 \
  --iptables-localhost-nodeports=false --nodeport-addresses "$NODE_IP/32" \
  --metrics-bind-address "$NODE_IP:10249" --healthz-bind-address "$NODE_IP:10256"
node_ready() {
  [ "$(kubectl get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]
}
wait_for "node $NODE_NAME Ready" 120 kubelet node_ready
log "node $NODE_NAME Ready ($(( $(date +%s) - t0 ))s)"

# --- CoreDNS ---------------------------------------------------------------------------
sed -e "s|@COREDNS_IMAGE@|$COREDNS_IMAGE|" -e "s|@DNS_SVC_IP@|$DNS_SVC_IP|" "$here/coredns.yaml" > "$D/manifests/coredns.yaml"
kubectl apply -f "$D/manifests/coredns.yaml" >/dev/null
wait_for "CoreDNS Available" 120 kubelet kubectl -n kube-system wait --for=condition=Available deployment/coredns --timeout=5s
# Ask it, through the Service (kube-proxy's rules) from the host, for the API server's Service.
dns_ok() {
  local ip
  ip=$("$here/dnsquery.sh" "$DNS_SVC_IP" kubernetes.default.svc.cluster.local) || return 1
  [ "$ip" = "$KUBERNETES_SVC_IP" ]
}
wait_for "CoreDNS to answer kubernetes.default.svc.cluster.local at $DNS_SVC_IP" 60 kube-proxy dns_ok
trap - EXIT
log "node $NODE_NAME Ready, CoreDNS answers at $DNS_SVC_IP; up in $(( $(date +%s) - t0 ))s"
echo "tsgw cluster ready: kubeconfig=$KUBECONFIG"

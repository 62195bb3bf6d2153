#!/usr/bin/env bash
# `make cluster-down`: stops the node of `make cluster-up` and removes what it
# created: every daemon by its PID (SIGTERM, then SIGKILL), the pods'
# containers and their processes, mounts under $CLUSTER_DIR and the pods'
# network namespaces, iptables chains KUBE-* and CNI-*, the bridge (and with
# the namespaces the veths), the kubepods cgroups, and the sysctls set back as
# found. Safe to run twice, or after a failed cluster-up. Keeps only
# $CLUSTER_DIR/logs.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || die "must run as root"
D=$CLUSTER_DIR
t0=$(date +%s)

[ -n "${CLUSTER_TRACE:-}" ] && PS4='+ $(date +%T.%N | cut -c1-12) ' && set -x
alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }
# The daemon's recorded PID, if that process is still ours: every daemon's
# command line names a file under $CLUSTER_DIR (a reused PID does not).
pidof_daemon() {
  local p; p=$(cat "$PIDS/$1.pid" 2>/dev/null) || return 0
  tr '\0' ' ' 2>/dev/null < "/proc/$p/cmdline" | grep -qF -- "$D/" && echo "$p"
  return 0
}
# stop PID...: SIGTERM, up to 10s, then SIGKILL.
stop() {
  local p left
  for p in "$@"; do alive "$p" && kill -TERM "$p" 2>/dev/null; done
  for _ in $(seq 20); do
    left=""; for p in "$@"; do alive "$p" && left="$left $p"; done
    [ -z "$left" ] && return 0
    sleep 0.5
  done
  for p in $left; do
    log "pid $p ($(cat /proc/$p/comm 2>/dev/null)) ignored SIGTERM for 10s: SIGKILL"
    kill -KILL "$p" 2>/dev/null
  done
  sleep 0.5
}
# PIDs whose /proc/PID/cmdline mentions our containerd socket: the shims
# containerd started for this node (never another containerd's).
our_shims() {
  local p
  for p in /proc/[0-9]*; do
    tr '\0' ' ' 2>/dev/null < "$p/cmdline" | grep -qF -- "-address $SOCK " && echo "${p#/proc/}"
  done
}
created_kubepods() { # controllers' kubepods trees that were not there before cluster-up
  local c
  for c in /sys/fs/cgroup/ /sys/fs/cgroup/*/; do  # v2, then each v1 controller
    [ -d "$c/kubepods" ] || continue
    grep -qxF "$c" "$D/kubepods.before" 2>/dev/null && continue
    echo "$c/kubepods"
  done
}
# PIDs in those kubepods cgroups (our pods' processes; never another kubelet's).
pod_pids() {
  local k
  for k in $(created_kubepods); do find "$k" -name cgroup.procs -exec cat {} + 2>/dev/null; done | sort -u
}

# 1. The kubelet first, so that it restarts nothing; kube-proxy with it.
stop $(pidof_daemon kubelet) $(pidof_daemon kube-proxy)

# 2. The pods' containers, through containerd while it runs (the CRI would
#    also tear the network down, but ctr cannot: step 5 does).
cpid=$(pidof_daemon containerd)
if alive "$cpid" && [ -S "$SOCK" ]; then
  # Their IDs name the CNI results containerd leaves in /var/lib/cni (step 8).
  timeout 10 ctr -a "$SOCK" -n k8s.io containers ls -q 2>/dev/null >> "$D/containers.list"
  for t in $(timeout 10 ctr -a "$SOCK" -n k8s.io tasks ls -q 2>/dev/null); do
    timeout 10 ctr -a "$SOCK" -n k8s.io tasks kill -s SIGKILL "$t" >/dev/null 2>&1
  done
  sleep 1
  for t in $(timeout 10 ctr -a "$SOCK" -n k8s.io tasks ls -q 2>/dev/null); do
    timeout 10 ctr -a "$SOCK" -n k8s.io tasks delete -f "$t" >/dev/null 2>&1
  done
  for c in $(timeout 10 ctr -a "$SOCK" -n k8s.io containers ls -q 2>/dev/null); do
    timeout 10 ctr -a "$SOCK" -n k8s.io containers delete "$c" >/dev/null 2>&1
  done
fi
# Whatever is left in the pods' cgroups, and the shims.
stop $(pod_pids)

# 3. The control plane and containerd, in reverse start order.
#    (the scheduler, controller-manager and API server together: each takes
#    about 2s to shut down gracefully).
stop $(pidof_daemon kube-scheduler) $(pidof_daemon kube-controller-manager) $(pidof_daemon kube-apiserver)
stop $(pidof_daemon etcd)
stop $(pidof_daemon containerd)
stop $(our_shims)
stop $(pod_pids)

# 4. Mounts: everything under the run directory (deepest first), and the pods'
#    network namespaces that were not there before cluster-up.
if [ -d "$D" ]; then
  for _ in 1 2 3; do
    m=$(awk -v d="$D/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r)
    [ -z "$m" ] && break
    for x in $m; do umount "$x" 2>/dev/null || umount -l "$x" 2>/dev/null; done
  done
fi
if [ -d /var/run/netns ]; then
  for n in $(ls /var/run/netns); do
    case $n in cni-*) ;; *) continue ;; esac
    grep -qxF "$n" "$D/netns.before" 2>/dev/null && continue
    umount "/var/run/netns/$n" 2>/dev/null || umount -l "/var/run/netns/$n" 2>/dev/null
    rm -f "/var/run/netns/$n"
  done
  if grep -q '^netns_dir_existed=0' "$D/host.before" 2>/dev/null && [ -z "$(ls -A /var/run/netns)" ]; then
    umount /var/run/netns 2>/dev/null; rmdir /var/run/netns 2>/dev/null
  fi
fi

# 5. iptables: jumps from the built-in chains to KUBE-*/CNI-* chains, then those chains.
for ipt in iptables ip6tables; do
  command -v $ipt >/dev/null || continue
  for table in filter nat mangle raw; do
    $ipt -w 5 -t $table -S >/dev/null 2>&1 || continue
    $ipt -w 5 -t $table -S 2>/dev/null | grep -E '^-A [A-Z]+ .*-j (KUBE-|CNI-)' | grep -vE '^-A (KUBE-|CNI-)' \
      | while read -r line; do eval "$ipt -w 5 -t $table ${line/-A/-D}" 2>/dev/null; done
    chains=$($ipt -w 5 -t $table -S 2>/dev/null | awk '$1 == "-N" && ($2 ~ /^KUBE-/ || $2 ~ /^CNI-/) {print $2}')
    for c in $chains; do $ipt -w 5 -t $table -F "$c" 2>/dev/null; done
    for c in $chains; do $ipt -w 5 -t $table -X "$c" 2>/dev/null; done
  done
done
# kube-proxy's nftables-mode table, should it have made one.
if command -v nft >/dev/null; then
  for fam in ip ip6; do nft list table $fam kube-proxy >/dev/null 2>&1 && nft delete table $fam kube-proxy; done
fi

# 6. Interfaces: the bridge (veths went with the namespaces; any left on it too).
for v in $(ls /sys/class/net/$BRIDGE/brif 2>/dev/null); do ip link del "$v" 2>/dev/null; done
ip link show "$BRIDGE" >/dev/null 2>&1 && ip link del "$BRIDGE"

# 7. Cgroups the kubelet created (deepest first; they are empty now).
for k in $(created_kubepods); do
  find "$k" -depth -type d -exec rmdir {} + 2>/dev/null
  find "$k" -depth -type d -exec rmdir {} \; 2>/dev/null
done

# 8. CNI's result cache for our network, containerd 1.6's fixed shim socket
#    directory, nftables tables iptables-nft made for us (empty ones only), and
#    sysctls as they were.
rm -f /var/lib/cni/results/"$CNI_NETWORK"-* /var/lib/cni/cache/results/"$CNI_NETWORK"-* 2>/dev/null
for id in $(cat "$D/containers.list" 2>/dev/null); do
  rm -f /var/lib/cni/results/*-"$id"-* 2>/dev/null
done
if grep -q '^run_containerd_existed=0' "$D/host.before" 2>/dev/null; then
  find /run/containerd -depth -type d -empty -delete 2>/dev/null
fi
if command -v nft >/dev/null && [ -f "$D/nft.before" ]; then
  nft list tables 2>/dev/null | while read -r _ fam name; do
    grep -qxF "table $fam $name" "$D/nft.before" && continue
    # Only when no chain of it holds a rule.
    nft list table "$fam" "$name" 2>/dev/null | grep -vqE '^\s*(table|chain|type|policy|\}|$)' && continue
    nft delete table "$fam" "$name" 2>/dev/null
  done
fi
if grep -q '^var_lib_cni_existed=0' "$D/host.before" 2>/dev/null; then
  find /var/lib/cni -depth -type d -empty -delete 2>/dev/null
fi
if [ -f "$D/host.before" ]; then
  v=$(sed -n 's/^ip_forward=//p' "$D/host.before"); [ -n "$v" ] && echo "$v" > /proc/sys/net/ipv4/ip_forward
  v=$(sed -n 's/^bridge_nf_call_iptables=//p' "$D/host.before"); [ -n "$v" ] && echo "$v" > /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null
fi

# What is left, if anything, is said.
left=""
for d in $DAEMONS; do p=$(pidof_daemon "$d"); alive "$p" && left="$left $d($p)"; done
[ -n "$(our_shims)" ] && left="$left shims"
ip link show "$BRIDGE" >/dev/null 2>&1 && left="$left $BRIDGE"
[ -n "$(created_kubepods)" ] && left="$left cgroups:$(created_kubepods | tr '\n' ' ')"
iptables -w 5 -t nat -S 2>/dev/null | grep -qE '(KUBE-|CNI-)' && left="$left nat-chains"
iptables -w 5 -t filter -S 2>/dev/null | grep -qE '(KUBE-|CNI-)' && left="$left filter-chains"
awk -v d="$D/" 'index($5, d) == 1 {f=1} END {exit !f}' /proc/self/mountinfo && left="$left mounts-under-$D"
if [ -n "$left" ]; then
  log "down in $(( $(date +%s) - t0 ))s, but left behind:$left (run dir kept; make cluster-down again)"
  exit 1
fi
# 9. The run directory, but its logs.
[ -d "$D" ] && find "$D" -mindepth 1 -maxdepth 1 ! -name logs -exec rm -rf {} +
log "down in $(( $(date +%s) - t0 ))s: no process, mount, iptables chain, interface or cgroup of the node left"

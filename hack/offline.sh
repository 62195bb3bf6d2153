#!/usr/bin/env bash
# Runs a command with no way off this machine, and proves nothing tried:
# in a network namespace of its own whose loopback is up and whose only
# route out (IPv4 and IPv6 default) is a dead end, a veth whose peer has
# no address. Whatever tries to leave (a connect, a DNS query, an ARP for
# the gateway) is counted on that interface and goes nowhere. The dead
# end has an address of its own (192.0.2.1, a documentation address), as
# a machine's network interface has: kube-apiserver refuses to start
# without one to advertise. After the
# command, the script prints how many packets the dead end took and fails
# if there was any, or if the command failed.
#
#   hack/offline.sh make test
#   hack/offline.sh make dev
#
# The Go module cache and the envtest binaries must be in place already
# (run the command once normally, or `go mod download` and `make envtest`):
# GOPROXY is off inside, so a missing module fails at once instead of
# knocking on the dead end. Needs root (or CAP_SYS_ADMIN and CAP_NET_ADMIN)
# for unshare and ip.
set -euo pipefail

if [ "${TSGW_OFFLINE_NETNS:-}" != 1 ]; then
  if [ $# -eq 0 ]; then
    echo "usage: $0 COMMAND [ARG...]" >&2
    exit 2
  fi
  exec unshare --net --fork env TSGW_OFFLINE_NETNS=1 "$0" "$@"
fi

dead=deadend
ip link set lo up
ip link add "$dead" type veth peer name "$dead-peer"
# No link-local address, so the kernel itself sends nothing (no DAD, no
# router solicitations): every packet counted is one a program sent.
ip link set "$dead" addrgenmode none
ip link set "$dead-peer" addrgenmode none
ip link set "$dead-peer" up
ip link set "$dead" up
ip addr add 192.0.2.1/24 dev "$dead"
# The gateway has a fixed neighbour entry, so what is sent leaves as itself
# (and is recorded with its destination), not as an ARP for the gateway.
ip neigh add 192.0.2.254 lladdr 02:00:00:00:00:01 dev "$dead" nud permanent
ip route add default via 192.0.2.254 dev "$dead"
ip -6 route add default dev "$dead"

sent() { awk -v dev="$dead:" '$1 == dev {print $11}' /proc/net/dev; }

# With tcpdump at hand, what reaches the dead end is also recorded, so a
# failure can say what it was.
capture=""
if command -v tcpdump >/dev/null; then
  capture=$(mktemp -d)
  tcpdump -i "$dead" -n -U -w "$capture/deadend.pcap" 2>/dev/null &
  tcpdump_pid=$!
fi

export GOPROXY=off
echo "offline: running '$*' in a network namespace whose only way out is the dead end $dead" >&2
status=0
"$@" || status=$?
packets=$(sent)
echo "offline: the dead end took $packets packets" >&2
if [ -n "$capture" ]; then
  kill "$tcpdump_pid" 2>/dev/null && wait "$tcpdump_pid" 2>/dev/null || true
  if [ "$packets" != 0 ]; then
    tcpdump -r "$capture/deadend.pcap" -n -tttt -e 2>/dev/null | head -40 >&2 || true
  fi
  rm -rf "$capture"
fi
if [ "$packets" != 0 ]; then
  echo "offline: something tried to leave the machine" >&2
  exit 1
fi
exit "$status"

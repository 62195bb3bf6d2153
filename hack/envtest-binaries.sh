#!/usr/bin/env bash
# Builds the real kube-apiserver, kube-controller-manager (the lab's garbage
# collector and namespace lifecycle), etcd and kubectl used by the tests and by
# `make dev`, from the Go module proxy (no download sites needed), once per
# machine: they are cached by version outside the repository. Prints the
# directory that holds them, suitable for KUBEBUILDER_ASSETS.
set -euo pipefail

K8S_VERSION=1.37.2
here=$(cd "$(dirname "$0")" && pwd)
cache=${TSGW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tailscale-gateway}
dir=$cache/envtest/$K8S_VERSION
mkdir -p "$dir"

if [ -x "$dir/kube-apiserver" ] && [ -x "$dir/kube-controller-manager" ] && [ -x "$dir/etcd" ] && [ -x "$dir/kubectl" ] \
  && [ "$(cat "$dir/.built-from" 2>/dev/null)" = "$(sha256sum "$here/envtest-tools/go.mod" | cut -d' ' -f1)" ]; then
  echo "$dir"
  exit 0
fi

# One build at a time per machine, even when several `make` targets race.
exec 9>"$dir/.lock"
flock 9
if [ -x "$dir/kube-apiserver" ] && [ -x "$dir/kube-controller-manager" ] && [ -x "$dir/etcd" ] && [ -x "$dir/kubectl" ] \
  && [ "$(cat "$dir/.built-from" 2>/dev/null)" = "$(sha256sum "$here/envtest-tools/go.mod" | cut -d' ' -f1)" ]; then
  echo "$dir"
  exit 0
fi

echo "building kube-apiserver, kube-controller-manager, etcd and kubectl v$K8S_VERSION from the Go module proxy (about 8 minutes, once per machine)..." >&2
ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags="$ldflags -X $pkg.gitVersion=v$K8S_VERSION -X $pkg.gitMajor=${K8S_VERSION%%.*}"
  minor=${K8S_VERSION#*.}
  ldflags="$ldflags -X $pkg.gitMinor=${minor%%.*} -X $pkg.gitTreeState=clean"
done
cd "$here/envtest-tools"
tmp=$(mktemp -d "$dir/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
GOFLAGS=-mod=mod go build -ldflags "$ldflags" -o "$tmp/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver >&2
GOFLAGS=-mod=mod go build -ldflags "$ldflags" -o "$tmp/kube-controller-manager" k8s.io/kubernetes/cmd/kube-controller-manager >&2
GOFLAGS=-mod=mod go build -ldflags "$ldflags" -o "$tmp/kubectl" k8s.io/kubernetes/cmd/kubectl >&2
GOFLAGS=-mod=mod go build -o "$tmp/etcd" go.etcd.io/etcd/server/v3 >&2
mv "$tmp/kube-apiserver" "$tmp/kube-controller-manager" "$tmp/kubectl" "$tmp/etcd" "$dir/"
sha256sum "$here/envtest-tools/go.mod" | cut -d' ' -f1 > "$dir/.built-from"
echo "$dir"

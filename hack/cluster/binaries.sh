#!/usr/bin/env bash
# Builds the node's binaries for `make cluster-up`, once per machine, cached by
# version outside the repository, under a lock (like hack/envtest-binaries.sh):
#   kubelet, kube-scheduler, kube-proxy  from the same module (and version
#                                         ldflags) as the envtest binaries;
#   coredns                              from the Go module proxy;
#   pause                                hack/cluster/pause, a static sleeper;
#   images/pause.tar, images/coredns.tar the node's images of both (docker
#                                         archives for ctr, hack/tools/nodeimage);
# and links kube-apiserver, kube-controller-manager, etcd and kubectl from the
# envtest cache (built by hack/envtest-binaries.sh when missing).
# Prints the directory that holds all of them.
set -euo pipefail

K8S_VERSION=1.37.2
source "$(dirname "$0")/lib.sh"   # COREDNS_VERSION, the images' tags
cache=${TSGW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tailscale-gateway}
dir=$cache/cluster/$K8S_VERSION-coredns-$COREDNS_VERSION
mkdir -p "$dir"

envtest=$("$repo/hack/envtest-binaries.sh")

# What the cached binaries were built from: the module that pins Kubernetes and
# the pause program's source.
key=$(cat "$repo/hack/envtest-tools/go.mod" "$here/pause/main.go" | sha256sum | cut -d' ' -f1)
bins="kubelet kube-scheduler kube-proxy coredns pause"
ready() {
  for b in $bins; do [ -x "$dir/$b" ] || return 1; done
  [ "$(cat "$dir/.built-from" 2>/dev/null)" = "$key" ]
}
# The images, a second stage with its own key: a change to the image builder
# does not rebuild the kubelet.
images_key() {
  cat "$repo/hack/tools/nodeimage/main.go" "$repo/hack/tools/go.sum" "$dir/pause" "$dir/coredns" 2>/dev/null | sha256sum | cut -d' ' -f1
  echo "$PAUSE_IMAGE $COREDNS_IMAGE"
}
images_ready() {
  [ -f "$dir/images/pause.tar" ] && [ -f "$dir/images/coredns.tar" ] && [ "$(cat "$dir/.images-from" 2>/dev/null)" = "$(images_key)" ]
}
images() {
  images_ready && return 0
  # Inside the build's temporary directory: its EXIT trap removes it,
  # also when a step fails.
  local t="$tmp/images"
  mkdir -p "$t"
  (cd "$repo/hack/tools" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -o "$t/nodeimage" ./nodeimage) >&2
  "$t/nodeimage" --binary "$dir/pause" --path /pause --tag "$PAUSE_IMAGE" --out "$t/pause.tar"
  "$t/nodeimage" --binary "$dir/coredns" --path /coredns --tag "$COREDNS_IMAGE" --out "$t/coredns.tar"
  mkdir -p "$dir/images"
  mv "$t/pause.tar" "$t/coredns.tar" "$dir/images/"
  images_key > "$dir/.images-from"
}
link() {
  for b in kube-apiserver kube-controller-manager etcd kubectl; do
    ln -sfn "$envtest/$b" "$dir/$b"
  done
  echo "$dir"
}
if ready && images_ready; then link; exit 0; fi

# One build at a time per machine, even when several `make` targets race.
exec 9>"$dir/.lock"
flock 9
tmp=$(mktemp -d "$dir/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
if ready; then images; link; exit 0; fi

echo "building kubelet, kube-scheduler, kube-proxy v$K8S_VERSION and coredns $COREDNS_VERSION from the Go module proxy (a few minutes, once per machine)..." >&2
start=$(date +%s)
ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags="$ldflags -X $pkg.gitVersion=v$K8S_VERSION -X $pkg.gitMajor=${K8S_VERSION%%.*}"
  minor=${K8S_VERSION#*.}
  ldflags="$ldflags -X $pkg.gitMinor=${minor%%.*} -X $pkg.gitTreeState=clean"
done
# Build inside a copy of the envtest module so that -mod=mod (which may add
# go.sum lines for the kubelet's extra packages) never touches the repository.
mkdir "$tmp/mod"
cp "$repo/hack/envtest-tools/go.mod" "$repo/hack/envtest-tools/go.sum" "$tmp/mod/"
for cmd in kubelet kube-scheduler kube-proxy; do
  (cd "$tmp/mod" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -ldflags "$ldflags" -o "$tmp/$cmd" "k8s.io/kubernetes/cmd/$cmd") >&2
done
CGO_ENABLED=0 GOBIN="$tmp" GOFLAGS= go install -ldflags "-s -w" "github.com/coredns/coredns@$COREDNS_VERSION" >&2
(cd "$here/pause" && CGO_ENABLED=0 GOFLAGS= go build -trimpath -ldflags "-s -w" -o "$tmp/pause" .) >&2
for b in $bins; do mv "$tmp/$b" "$dir/"; done
echo "$key" > "$dir/.built-from"
images
echo "built in $(( $(date +%s) - start ))s" >&2
link

#!/usr/bin/env bash
# Builds the images Tailscale Gateway runs on the node of `make cluster-up`
# and imports them into its containerd: the operator and tsgw-proxy (as
# `make images` builds them, linux/amd64 only) tagged TAG, the proxy again
# as TAG-next (an image change for rolling-update tests), and the samples'
# backend (test/cluster/cmd/backend) as tsgw.local/backend:1.
#
#   hack/cluster/images.sh [TAG]     (default: the VERSION file)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
[ -S "$SOCK" ] || die "no node runs from $CLUSTER_DIR (make cluster-up first)"
tag=${1:-$(cat "$repo/VERSION")}
out=$repo/bin/cluster-images
mkdir -p "$out"
t0=$(date +%s)

go -C "$repo/hack/tools" run ./imagebuild --repo "$repo" --out "$out" --version "$tag" \
  --commit "$(git -C "$repo" rev-parse HEAD 2>/dev/null || echo unknown)" --platforms linux/amd64 >&2
(cd "$repo/test/cluster" && CGO_ENABLED=0 go build -trimpath -o "$out/backend" ./cmd/backend)
(cd "$repo/hack/tools" && CGO_ENABLED=0 go build -o "$out/nodeimage" ./nodeimage)
"$out/nodeimage" --binary "$out/backend" --path /backend --tag tsgw.local/backend:1 --user 65532 --out "$out/backend.tar"

ctr_() { ctr -a "$SOCK" -n k8s.io "$@"; }
for c in operator tsgw-proxy; do
  ctr_ images import --platform linux/amd64 --base-name "ghcr.io/tailscale-gateway/$c" "$out/$c.tar" >/dev/null
done
ctr_ images tag --force "ghcr.io/tailscale-gateway/tsgw-proxy:$tag" "ghcr.io/tailscale-gateway/tsgw-proxy:$tag-next" >/dev/null
ctr_ images import "$out/backend.tar" >/dev/null
log "images imported in $(( $(date +%s) - t0 ))s: ghcr.io/tailscale-gateway/{operator,tsgw-proxy}:$tag, tsgw-proxy:$tag-next, tsgw.local/backend:1"

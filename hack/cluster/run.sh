#!/usr/bin/env bash
# `make test-cluster` and `make dev-cluster`: one real node (up.sh), the
# product's images built and imported into it (images.sh), then
#   test: the end-to-end tests of test/cluster against it;
#   dev:  test/cluster/cmd/dev-cluster, until Ctrl-C;
# and the node taken down (down.sh) however that ends.
#
#   hack/cluster/run.sh test [go test flags...]
#   hack/cluster/run.sh dev
set -euo pipefail
source "$(dirname "$0")/lib.sh"
mode=${1:-}; shift || true
case "$mode" in test|dev) ;; *) die "usage: $0 test|dev [args...]" ;; esac
tag=$(cat "$repo/VERSION")
t0=$(date +%s)

"$here/up.sh" >/dev/null
trap '"$here/down.sh" >&2' EXIT
"$here/images.sh" "$tag"
kubeconfig=$CLUSTER_DIR/admin.kubeconfig
log "node and images ready in $(( $(date +%s) - t0 ))s"

cd "$repo/test/cluster"
case "$mode" in
test)
  TSGW_CLUSTER_KUBECONFIG=$kubeconfig TSGW_CLUSTER_NODE_IP=$NODE_IP TSGW_CLUSTER_IMAGE_TAG=$tag \
    go test -count=1 -timeout 30m "$@" ./...
  ;;
dev)
  go build -o "$repo/bin/dev-cluster" ./cmd/dev-cluster
  # Not exec: the EXIT trap must take the node down after Ctrl-C.
  "$repo/bin/dev-cluster" --repo "$repo" --node-kubeconfig "$kubeconfig" --node-ip "$NODE_IP" \
    --image-tag "$tag" --samples "$repo/test/cluster/samples" "$@" || true
  ;;
esac

#!/usr/bin/env bash
# Builds the real Envoy Gateway control plane (the envoy-gateway binary) that
# envoy-extension's integration test runs, from the Go module proxy, once per
# machine: cached by version outside the repository, like the envtest binaries
# (hack/envtest-binaries.sh). The version is pinned by hack/envoy-gateway's
# go.mod and go.sum (a `tool` line), so `go mod tidy -diff` and
# `go mod download` in .ci/run cover it. Prints the binary's path, suitable
# for ENVOY_GATEWAY_BINARY.
set -euo pipefail

EG_VERSION=v1.9.1
here=$(cd "$(dirname "$0")" && pwd)
mod=$here/envoy-gateway
cache=${TSGW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tailscale-gateway}
dir=$cache/envoy-gateway/$EG_VERSION
bin=$dir/envoy-gateway
mkdir -p "$dir"

# The version in the path must be the one go.mod pins: a bump of one without
# the other would test a binary of another version than the path says.
pinned=$(go -C "$mod" list -m -f '{{.Version}}' github.com/envoyproxy/gateway)
if [ "$pinned" != "$EG_VERSION" ]; then
  echo "$mod/go.mod pins github.com/envoyproxy/gateway $pinned, but this script builds $EG_VERSION: change both" >&2
  exit 1
fi

key=$(cat "$mod/go.mod" "$mod/go.sum" | sha256sum | cut -d' ' -f1)
ready() { [ -x "$bin" ] && [ "$(cat "$dir/.built-from" 2>/dev/null)" = "$key" ]; }
if ready; then echo "$bin"; exit 0; fi

# One build at a time per machine, even when several `make` targets race.
exec 9>"$dir/.lock"
flock 9
if ready; then echo "$bin"; exit 0; fi

echo "building envoy-gateway $EG_VERSION from the Go module proxy (about 4 minutes cold on 2 cores, once per machine)..." >&2
start=$(date +%s)
tmp=$(mktemp -d "$dir/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# Without -trimpath, so that a rebuild reuses the build cache. Its version
# package reads nothing we need; the path carries the version.
(cd "$mod" && go build -o "$tmp/envoy-gateway" github.com/envoyproxy/gateway/cmd/envoy-gateway) >&2
mv "$tmp/envoy-gateway" "$bin"
echo "$key" > "$dir/.built-from"
echo "built in $(( $(date +%s) - start ))s" >&2
echo "$bin"

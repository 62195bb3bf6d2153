module github.com/tailscale-gateway/tailscale-gateway/hack/cluster/pause

go 1.26.0

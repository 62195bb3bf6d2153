package podmode

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"tailscale.com/ipn"
	"tailscale.com/logtail"
	"tailscale.com/tsnet"

	"github.com/tailscale-gateway/tailscale-gateway/internal/proxyconfig"
	"github.com/tailscale-gateway/tailscale-gateway/internal/tsnetstack"
)

// nodeOptions are what the tailnet node is made of.
type nodeOptions struct {
	Hostname string
	AuthKey  string
	Tailnet  proxyconfig.Tailnet
	Store    ipn.StateStore
	Dir      string
	Log      *slog.Logger
}

// startNode joins the tailnet and waits until the node is running. The
// node is not ephemeral: its identity lives in the state Secret and
// survives pod restarts.
func startNode(ctx context.Context, o nodeOptions) (*tsnet.Server, error) {
	s := &tsnet.Server{
		Hostname:      o.Hostname,
		ControlURL:    o.Tailnet.ControlURL,
		AuthKey:       o.AuthKey,
		AdvertiseTags: o.Tailnet.Tags,
		Store:         o.Store,
		Dir:           o.Dir,
		Ephemeral:     false,
		Logf:          tailnetLogf(o.Log, slog.LevelDebug),
		UserLogf:      tailnetLogf(o.Log, slog.LevelInfo),
	}
	if !uploadsLogs(o.Tailnet.ControlURL, noLogsNoSupport()) {
		// Process-wide, and before Start: one node per process.
		logtail.Disable()
		o.Log.Info("tailnet node logs stay local (not Tailscale's coordination server, or TS_NO_LOGS_NO_SUPPORT)")
	}
	// A tsnet.Server that failed to start must not be closed (it panics).
	if err := s.Start(); err != nil {
		return nil, fmt.Errorf("start tailnet node: %w", err)
	}
	if err := tsnetstack.ShortenTimeWait(s); err != nil {
		s.Close()
		return nil, fmt.Errorf("tailnet node: %w", err)
	}
	if _, err := s.Up(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("join the tailnet: %w", err)
	}
	return s, nil
}

// tailnetLogf sends tsnet's printf-style logs to the structured logger.
func tailnetLogf(log *slog.Logger, level slog.Level) func(string, ...any) {
	return func(format string, args ...any) {
		if !log.Enabled(context.Background(), level) {
			return
		}
		log.Log(context.Background(), level, strings.TrimSpace(fmt.Sprintf(format, args...)), "source", "tailnet")
	}
}

// readNodeInfo reads the node's identity from its local API.
func readNodeInfo(ctx context.Context, s *tsnet.Server) (nodeInfo, error) {
	lc, err := s.LocalClient()
	if err != nil {
		return nodeInfo{}, err
	}
	st, err := lc.StatusWithoutPeers(ctx)
	if err != nil {
		return nodeInfo{}, err
	}
	info := nodeInfo{}
	if st.Self != nil {
		info.DeviceID = string(st.Self.ID)
		info.Hostname = st.Self.HostName
		info.FQDN = strings.TrimSuffix(st.Self.DNSName, ".")
	}
	for _, ip := range st.TailscaleIPs {
		info.IPs = append(info.IPs, ip.String())
	}
	return info, nil
}
